// Switchboard console, the reply window: WhatsApp takes a free-form reply only within
// 24 hours of the customer's last message. Once that window has closed (the
// conversation's `window_closes_at` is past, or the customer never wrote there), the
// composer says so and offers the approved templates (GET /api/whatsapp-templates)
// with a field for each {{n}} variable; "Send template" posts {template_id, variables}.
// Template names, bodies and the variables typed reach the page only as text.
"use strict";

(() => {
  const { $, h, show, get, post } = window.SwitchboardPage;
  const app = window.SwitchboardConsole;
  const { state } = app;
  const VARIABLE = /\{\{\s*([1-9][0-9]?)\s*\}\}/g;

  const traits = {}; // channel name -> {label, reply_window_hours, templates}
  const traitsRead = get("/api/channels")
    .then((channels) => channels.forEach((c) => { traits[c.name] = c; }))
    .catch(() => {});
  let templates = null; // read once, when first needed
  let conversation = null;

  /** The channel the next reply goes out on, and that channel's entry in the view. */
  function replyTarget() {
    if (!conversation) return null;
    const via = $("reply-channel").value || conversation.reply_channel;
    const entry = (conversation.reply_channels || []).find((c) => c.channel === via);
    return { channel: via, closesAt: entry ? entry.window_closes_at : conversation.window_closes_at };
  }

  function hhmm(iso) {
    return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  async function render() {
    await traitsRead;
    const target = replyTarget();
    const t = target && traits[target.channel];
    const hours = t ? t.reply_window_hours : 0;
    const closed = conversation && conversation.status === "assigned" && hours > 0 &&
      (!target.closesAt || new Date(target.closesAt) <= new Date());
    show($("reply-window"), Boolean(closed));
    if (!closed) return;
    const label = t.label || target.channel;
    $("reply-window-why").textContent = target.closesAt
      ? `The ${label} window closed at ${hhmm(target.closesAt)} (${hours} h after the customer's last message); only an approved template can be sent.`
      : `The customer has not written on ${label} yet; only an approved template can be sent.`;
    if (!t.templates) {
      show($("template-form"), false);
      return;
    }
    if (templates === null) {
      try {
        templates = await get("/api/whatsapp-templates");
      } catch {
        templates = [];
      }
    }
    const select = $("template");
    const before = select.value;
    select.replaceChildren(h("option", { value: "" }, templates.length ? "Choose a template…" : "No templates yet: an admin adds them"),
      ...templates.map((tpl) => h("option", { value: String(tpl.id) }, `${tpl.name} (${tpl.language})`)));
    if (templates.some((tpl) => String(tpl.id) === before)) select.value = before;
    show($("template-form"), true);
    renderChosen();
  }

  function chosen() {
    return (templates || []).find((tpl) => String(tpl.id) === $("template").value) || null;
  }

  function renderChosen() {
    const tpl = chosen();
    $("template-variables").replaceChildren(...(tpl ? tpl.variables : []).map((n) =>
      h("label", {}, `{{${n}}} `, h("input", { type: "text", "data-variable": n, maxlength: "1024", oninput: preview }))));
    show($("template-send"), Boolean(tpl));
    preview();
  }

  function values() {
    const given = {};
    for (const input of $("template-variables").querySelectorAll("input")) given[input.dataset.variable] = input.value;
    return given;
  }

  function preview() {
    const tpl = chosen();
    const given = values();
    $("template-preview").textContent = tpl ? tpl.body.replace(VARIABLE, (all, n) => given[n] || all) : "";
  }

  async function send() {
    const tpl = chosen();
    const id = state.openId;
    const target = replyTarget();
    if (!tpl || id === null || !target) return;
    $("composer-error").textContent = "";
    const body = { template_id: tpl.id, variables: values() };
    if (target.channel !== conversation.reply_channel) body.channel = target.channel;
    try {
      await post(`/api/conversations/${id}/reply`, body);
    } catch (error) {
      $("composer-error").textContent = error.message;
      return;
    }
    $("template").value = "";
    renderChosen();
    await app.reloadOpen();
  }

  app.ready(() => {
    document.addEventListener("switchboard:conversation", (event) => {
      conversation = event.detail;
      render();
    });
    $("reply-channel").addEventListener("change", render);
    $("template").addEventListener("change", renderChosen);
    $("template-send").addEventListener("click", send);
  });
})();

// Switchboard console, macros: an admin-defined reply plus actions (label, attribute,
// transfer, close). Picking one puts its reply, filled for this conversation, in the
// reply box to edit; "Apply macro" sends that text and does the actions
// (POST /api/conversations/{id}/macros/{macro_id}), each as the agent would by hand.
"use strict";

(() => {
  const { $, h, show, get, post, toast } = window.SwitchboardPage;
  const app = window.SwitchboardConsole;
  const { state } = app;
  let macros = [];
  let shownFor = null;

  async function load(detail) {
    const id = detail && detail.status === "assigned" ? detail.id : null;
    if (id === shownFor) return;
    shownFor = id;
    macros = [];
    if (id !== null) {
      try {
        macros = await get(`/api/macros?conversation_id=${id}`);
      } catch {
        macros = [];
      }
    }
    if (shownFor !== id) return;
    $("macro").replaceChildren(h("option", { value: "" }, "Choose…"),
      ...macros.map((m) => h("option", { value: String(m.id) }, m.name)));
    show($("macro-field"), macros.length > 0);
    show($("macro-apply"), false);
  }

  function chosen() {
    return macros.find((m) => String(m.id) === $("macro").value) || null;
  }

  function onPick() {
    const macro = chosen();
    show($("macro-apply"), Boolean(macro));
    if (!macro) return;
    $("reply").value = macro.text || "";
    if (app.fitComposer) app.fitComposer();
    $("macro-apply").textContent = `Apply ${macro.name}`;
  }

  async function apply() {
    const macro = chosen();
    const id = state.openId;
    if (!macro || id === null) return;
    $("composer-error").textContent = "";
    const closes = macro.actions.some((a) => a.type === "close" || a.type === "transfer");
    if (closes) app.holdOpen();
    try {
      await post(`/api/conversations/${id}/macros/${macro.id}`, { text: $("reply").value });
    } catch (error) {
      if (closes) app.releaseOpen();
      $("composer-error").textContent = error.message;
      return;
    }
    $("reply").value = "";
    $("macro").value = "";
    show($("macro-apply"), false);
    if (closes) {
      app.forgetConversation(id);
      app.closeView(`${macro.name} applied.`);
      shownFor = null;
    } else {
      toast(`${macro.name} applied.`);
      await app.reloadOpen();
    }
  }

  app.ready(() => {
    document.addEventListener("switchboard:conversation", (event) => load(event.detail));
    $("macro").addEventListener("change", onPick);
    $("macro-apply").addEventListener("click", apply);
  });
})();

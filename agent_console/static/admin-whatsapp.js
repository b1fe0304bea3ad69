// Switchboard settings, WhatsApp templates: the messages WhatsApp approved, which agents
// may send once a customer's 24-hour window has closed. Admins list each by name with its
// Twilio Content SID (HX...), language and body ({{1}} for a variable), and edit or delete
// them (GET /api/whatsapp-templates, POST, PATCH and DELETE /api/admin/whatsapp-templates).
// Names and bodies reach the page as text.
"use strict";

(() => {
  const { $, h, show, toast, api, get, post } = window.SwitchboardPage;
  let editing = null; // the template being edited, or null when adding

  function render(templates) {
    $("wa-template-list").replaceChildren(...templates.map((t) =>
      h("tr", {},
        h("th", { scope: "row" }, t.name),
        h("td", {}, h("code", {}, t.content_sid)),
        h("td", {}, t.language),
        h("td", {}, t.body),
        h("td", { class: "cell-actions" },
          h("button", { type: "button", class: "secondary small", "aria-label": `Edit ${t.name}`, onclick: () => edit(t) }, "Edit"),
          h("button", { type: "button", class: "ghost small", "aria-label": `Delete ${t.name}`, onclick: () => remove(t) }, "Delete")))));
    show($("wa-template-empty"), templates.length === 0);
  }

  async function reload() {
    render(await get("/api/whatsapp-templates"));
  }

  function edit(template) {
    editing = template;
    $("wa-template-form-title").textContent = template ? `Edit ${template.name}` : "Add WhatsApp template";
    for (const field of ["name", "content_sid", "language", "body"]) {
      $(`wa-template-${field}`).value = template ? template[field] : "";
    }
    $("wa-template-error").textContent = "";
    show($("wa-template-form"), true);
    $("wa-template-name").focus();
  }

  function close() {
    editing = null;
    show($("wa-template-form"), false);
  }

  async function save(event) {
    event.preventDefault();
    const given = {};
    for (const field of ["name", "content_sid", "language", "body"]) given[field] = $(`wa-template-${field}`).value;
    try {
      if (editing) await api("PATCH", `/api/admin/whatsapp-templates/${editing.id}`, given);
      else await post("/api/admin/whatsapp-templates", given);
      close();
      toast("WhatsApp template saved.");
      await reload();
    } catch (error) {
      $("wa-template-error").textContent = error.message;
    }
  }

  async function remove(template) {
    if (!window.confirm(`Delete the WhatsApp template ${template.name}? Messages already sent keep their text.`)) return;
    try {
      await api("DELETE", `/api/admin/whatsapp-templates/${template.id}`);
      toast(`${template.name} deleted.`);
      await reload();
    } catch (error) {
      toast(error.message, "error");
    }
  }

  function start() {
    $("wa-template-add").addEventListener("click", () => edit(null));
    $("wa-template-form").addEventListener("submit", save);
    $("wa-template-form").querySelector("[data-cancel]").addEventListener("click", close);
    $("wa-template-form").addEventListener("keydown", (event) => {
      if (event.key === "Escape") close();
    });
    reload().catch((error) => toast(`Could not load the WhatsApp templates: ${error.message}`, "error"));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

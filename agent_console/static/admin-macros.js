// Switchboard settings, macros: admins add, edit and remove the replies-plus-actions
// agents apply from the reply box (GET /api/macros, POST, PATCH and DELETE
// /api/admin/macros). Names and replies reach the page as text.
"use strict";

(() => {
  const { $, h, show, toast, api, get, post } = window.SwitchboardPage;
  let editing = null; // the macro being edited, or null when adding

  function summary(action) {
    if (action.type === "label") return `label ${action.label}`;
    if (action.type === "attribute") return `${action.key} = ${JSON.stringify(action.value)}`;
    if (action.type === "transfer") return `transfer to ${action.skill}`;
    return `close as ${action.code}`;
  }

  function render(macros) {
    $("macro-list").replaceChildren(...macros.map((m) =>
      h("tr", { dataset: { macro: String(m.id) } },
        h("th", { scope: "row" }, m.name),
        h("td", { class: "cell-text" }, m.reply),
        h("td", { class: "cell-text" }, m.actions.map(summary).join(", ")),
        h("td", { class: "cell-actions" },
          h("button", { type: "button", class: "secondary small", "aria-label": `Edit ${m.name}`, onclick: () => edit(m) }, "Edit"),
          h("button", { type: "button", class: "ghost small", "aria-label": `Remove ${m.name}`, onclick: () => remove(m) }, "Remove")))));
  }

  async function reload() {
    render(await get("/api/macros"));
  }

  function edit(macro) {
    editing = macro;
    $("macro-form-title").textContent = macro ? `Edit ${macro.name}` : "Add macro";
    $("macro-name").value = macro ? macro.name : "";
    $("macro-reply").value = macro ? macro.reply : "";
    $("macro-actions").value = JSON.stringify(macro ? macro.actions : [], null, 2);
    $("macro-error").textContent = "";
    show($("macro-form"), true);
    $("macro-name").focus();
  }

  function close() {
    editing = null;
    show($("macro-form"), false);
  }

  async function save(event) {
    event.preventDefault();
    let actions;
    try {
      actions = JSON.parse($("macro-actions").value || "[]");
    } catch (error) {
      $("macro-error").textContent = `The actions are not JSON: ${error.message}`;
      return;
    }
    const body = { name: $("macro-name").value, reply: $("macro-reply").value, actions };
    try {
      if (editing) await api("PATCH", `/api/admin/macros/${editing.id}`, body);
      else await post("/api/admin/macros", body);
      close();
      toast("Macro saved.");
      await reload();
    } catch (error) {
      $("macro-error").textContent = error.message;
    }
  }

  async function remove(macro) {
    if (!window.confirm(`Remove the macro ${macro.name}?`)) return;
    try {
      await api("DELETE", `/api/admin/macros/${macro.id}`, {});
      toast(`${macro.name} removed.`);
      await reload();
    } catch (error) {
      toast(error.message, "error");
    }
  }

  function start() {
    $("macro-add").addEventListener("click", () => edit(null));
    $("macro-form").addEventListener("submit", save);
    $("macro-form").querySelector("[data-cancel]").addEventListener("click", close);
    $("macro-form").addEventListener("keydown", (event) => {
      if (event.key === "Escape") close();
    });
    reload().catch((error) => toast(`Could not load the macros: ${error.message}`, "error"));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

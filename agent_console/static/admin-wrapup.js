// Switchboard settings, wrap-up codes: admins add, rename, retire and bring back the
// outcomes agents close conversations with (GET /api/wrap-up-codes, POST and PATCH
// /api/admin/wrap-up-codes). Labels reach the page as text.
"use strict";

(() => {
  const { $, h, show, toast, api, get, post } = window.SwitchboardPage;
  let editing = null; // the code being renamed, or null when adding

  function render(codes) {
    $("wrapup-list").replaceChildren(...codes.map((c) =>
      h("tr", { dataset: { code: c.code, retired: String(c.retired) } },
        h("th", { scope: "row" }, c.label),
        h("td", {}, h("code", {}, c.code)),
        h("td", {}, c.retired ? "Retired" : "Yes"),
        h("td", { class: "cell-actions" },
          h("button", { type: "button", class: "secondary small", "aria-label": `Rename ${c.label}`, onclick: () => edit(c) }, "Rename"),
          h("button", { type: "button", class: "ghost small", "aria-label": `${c.retired ? "Bring back" : "Retire"} ${c.label}`, onclick: () => retire(c, !c.retired) },
            c.retired ? "Bring back" : "Retire")))));
  }

  async function reload() {
    render(await get("/api/wrap-up-codes"));
  }

  function edit(code) {
    editing = code;
    $("wrapup-form-title").textContent = code ? `Rename ${code.label}` : "Add wrap-up code";
    $("wrapup-label").value = code ? code.label : "";
    $("wrapup-code").value = code ? code.code : "";
    $("wrapup-code").readOnly = Boolean(code); // closed conversations keep the code
    $("wrapup-error").textContent = "";
    show($("wrapup-form"), true);
    $("wrapup-label").focus();
  }

  function close() {
    editing = null;
    show($("wrapup-form"), false);
  }

  async function save(event) {
    event.preventDefault();
    const label = $("wrapup-label").value;
    try {
      if (editing) await api("PATCH", `/api/admin/wrap-up-codes/${editing.id}`, { label });
      else await post("/api/admin/wrap-up-codes", { label, code: $("wrapup-code").value });
      close();
      toast("Wrap-up code saved.");
      await reload();
    } catch (error) {
      $("wrapup-error").textContent = error.message;
    }
  }

  async function retire(code, retired) {
    try {
      await api("PATCH", `/api/admin/wrap-up-codes/${code.id}`, { retired });
      toast(retired ? `${code.label} retired.` : `${code.label} is in use again.`);
      await reload();
    } catch (error) {
      toast(error.message, "error");
    }
  }

  function start() {
    $("wrapup-add").addEventListener("click", () => edit(null));
    $("wrapup-form").addEventListener("submit", save);
    $("wrapup-form").querySelector("[data-cancel]").addEventListener("click", close);
    $("wrapup-form").addEventListener("keydown", (event) => {
      if (event.key === "Escape") close();
    });
    reload().catch((error) => toast(`Could not load the wrap-up codes: ${error.message}`, "error"));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

// Switchboard settings: API tokens. Created (shown once), listed with when each was
// last used, revoked. Names only ever reach the page through textContent.
"use strict";

(() => {
  const { $, h, show, toast, api, get, post } = window.SwitchboardPage;
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : "never");

  function render(tokens) {
    $("tokens").replaceChildren(
      ...tokens.map((t) =>
        h("tr", { dataset: { token: t.name } },
          h("th", { scope: "row" }, t.name),
          h("td", {}, h("code", {}, `${t.prefix}…`)),
          h("td", {}, t.scopes.join(", ")),
          h("td", {}, when(t.created_at)),
          h("td", { class: "last-used" }, when(t.last_used_at)),
          h("td", {}, t.revoked_at ? `revoked ${when(t.revoked_at)}` : "active"),
          h("td", {}, t.revoked_at ? "" : h("button", {
            type: "button",
            class: "secondary small",
            "aria-label": `Revoke ${t.name}`,
            onclick: () => revoke(t),
          }, "Revoke")))),
    );
  }

  async function reload() {
    render(await get("/api/admin/tokens"));
  }

  async function revoke(token) {
    if (!window.confirm(`Revoke ${token.name}? Whatever uses it stops working at once.`)) return;
    try {
      await api("DELETE", `/api/admin/tokens/${token.id}`, {});
      toast(`${token.name} revoked.`);
      await reload();
    } catch (error) {
      toast(error.message, "error");
    }
  }

  async function create(event) {
    event.preventDefault();
    const form = $("token-form");
    $("token-error").textContent = "";
    const scopes = [...$("token-scopes").querySelectorAll("input:checked")].map((box) => box.value);
    form.setAttribute("aria-busy", "true");
    try {
      const created = await post("/api/admin/tokens", { name: $("token-name").value, scopes });
      show(form, false);
      $("token-created-name").textContent = created.name;
      $("token-value").value = created.token;
      show($("token-created"), true);
      $("token-value").select();
      await reload();
    } catch (error) {
      $("token-error").textContent = error.message;
    } finally {
      form.removeAttribute("aria-busy");
    }
  }

  function open() {
    $("token-name").value = "";
    for (const box of $("token-scopes").querySelectorAll("input")) box.checked = false;
    $("token-error").textContent = "";
    show($("token-created"), false);
    show($("token-form"), true);
    $("token-name").focus();
  }

  function start() {
    $("token-add").addEventListener("click", open);
    $("token-form").addEventListener("submit", create);
    $("token-form").querySelector("[data-cancel]").addEventListener("click", () => show($("token-form"), false));
    $("token-done").addEventListener("click", () => {
      $("token-value").value = ""; // gone from the page, as from the hub
      show($("token-created"), false);
    });
    reload().catch((error) => toast(`Could not load the API tokens: ${error.message}`, "error"));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

// Switchboard console, wrap-up: the outcome and summary that close a conversation.
"use strict";

(() => {
  const { $, show, post } = window.SwitchboardPage;
  const app = window.SwitchboardConsole;
  const { state, customerName } = app;

  function setWrapup(open) {
    show($("wrapup"), open);
    $("wrapup-toggle").setAttribute("aria-expanded", String(open));
    $("wrapup-error").textContent = "";
    if (open) $("disposition").focus();
  }

  async function submitWrapup(event) {
    event.preventDefault();
    const id = state.openId;
    if (id === null) return;
    const name = customerName(state.open);
    app.holdOpen(); // once closed, the customer may no longer be this agent's to read
    try {
      await post(`/api/conversations/${id}/close`, {
        disposition: $("disposition").value,
        summary: $("summary").value.trim(),
      });
    } catch (error) {
      $("wrapup-error").textContent = error.message;
      app.releaseOpen();
      return;
    }
    $("summary").value = "";
    $("disposition").selectedIndex = 0;
    app.forgetConversation(id);
    app.closeView(`Conversation with ${name} closed.`);
    const next = $("conversations").querySelector("button");
    (next || $("offers-heading")).focus();
  }

  function closeWithKeyboard() {
    setWrapup(false);
    $("wrapup-toggle").focus();
  }

  app.ready(() => {
    $("wrapup-toggle").addEventListener("click", () => setWrapup($("wrapup").hidden));
    $("wrapup-cancel").addEventListener("click", closeWithKeyboard);
    $("wrapup").addEventListener("submit", submitWrapup);
    $("wrapup").addEventListener("keydown", (event) => {
      if (event.key === "Escape") closeWithKeyboard();
    });
    document.addEventListener("switchboard:leaving", () => setWrapup(false));
  });
})();

// Switchboard console, wrap-up: the outcome and summary that close a conversation. The
// outcomes are the wrap-up codes admins define (GET /api/wrap-up-codes; retired ones
// are not offered), read as the console starts and again each time the form opens; a
// close clicked while they are still on their way waits for them.
"use strict";

(() => {
  const { $, h, show, get, post } = window.SwitchboardPage;
  const app = window.SwitchboardConsole;
  const { state, customerName } = app;

  let loading = Promise.resolve();

  function loadCodes() {
    loading = (async () => {
      const select = $("disposition");
      try {
        const codes = (await get("/api/wrap-up-codes")).filter((c) => !c.retired);
        const chosen = select.value;
        select.replaceChildren(...codes.map((c) => h("option", { value: c.code }, c.label)));
        if (codes.some((c) => c.code === chosen)) select.value = chosen;
      } catch (error) {
        $("wrapup-error").textContent = error.message;
      }
    })();
    return loading;
  }

  function setWrapup(open) {
    show($("wrapup"), open);
    $("wrapup-toggle").setAttribute("aria-expanded", String(open));
    $("wrapup-error").textContent = "";
    if (open) {
      $("disposition").focus();
      loadCodes();
    }
  }

  async function submitWrapup(event) {
    event.preventDefault();
    await loading;
    const id = state.openId;
    if (id === null) return;
    if (!$("disposition").value) {
      $("wrapup-error").textContent = "There are no wrap-up codes yet: an admin adds them on the settings page.";
      return;
    }
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
    loadCodes();
    $("wrapup-toggle").addEventListener("click", () => setWrapup($("wrapup").hidden));
    $("wrapup-cancel").addEventListener("click", closeWithKeyboard);
    $("wrapup").addEventListener("submit", submitWrapup);
    $("wrapup").addEventListener("keydown", (event) => {
      if (event.key === "Escape") closeWithKeyboard();
    });
    document.addEventListener("switchboard:leaving", () => setWrapup(false));
  });
})();

// Switchboard console, the top bar: who I am, my presence and the socket's state.
"use strict";

(() => {
  const { $, show, initials, toast, post } = window.SwitchboardPage;
  const app = window.SwitchboardConsole;
  const { state } = app;

  function renderMe() {
    const me = state.me;
    if (!me) return;
    $("agent-name").textContent = me.display_name;
    $("agent-avatar").textContent = initials(me.display_name);
    for (const input of document.querySelectorAll('input[name="presence"]')) {
      input.checked = input.value === me.status;
    }
    $("presence").disabled = false;
    $("presence").dataset.status = me.status;
    show($("wallboard-link"), me.role === "supervisor" || me.role === "admin");
    show($("admin-link"), me.role === "admin");
    const hint = $("presence-hint");
    hint.textContent = me.status === "available" ? "" : `You are ${me.status}: no new offers will reach you.`;
    show(hint, me.status !== "available");
  }

  // Counts the agent's own status changes. A read of /api/me that began before the latest
  // one answers with the status from before it: taking that would flip the switch back
  // under the agent's click.
  let changes = 0;

  function changesSoFar() {
    return changes;
  }

  /** Take what the hub says about me, read when `changesSoFar()` was `since`. */
  function takeMe(me, since) {
    if (since !== changes && state.me) me.status = state.me.status;
    state.me = me;
    renderMe();
  }

  async function changePresence(event) {
    const status = event.target.value;
    const before = state.me.status;
    changes += 1;
    state.me.status = status;
    renderMe();
    try {
      await post("/api/me/status", { status });
    } catch (error) {
      state.me.status = before;
      renderMe();
      toast(`Could not change your status: ${error.message}`, "error");
    }
  }

  function setConnection(kind, detail) {
    const el = $("connection");
    el.dataset.state = kind;
    const text = {
      connecting: "Connecting…",
      live: "Live",
      offline: `Reconnecting${detail ? ` in ${Math.ceil(detail / 1000)} s` : "…"}`,
    }[kind];
    $("connection-text").textContent = text;
  }

  Object.assign(app, { renderMe, takeMe, changesSoFar, setConnection });

  app.ready(() => {
    for (const input of document.querySelectorAll('input[name="presence"]')) {
      input.addEventListener("change", changePresence);
    }
  });
})();

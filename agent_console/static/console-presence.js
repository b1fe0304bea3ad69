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
    renderReason(me);
    show($("wallboard-link"), me.role === "supervisor" || me.role === "admin");
    show($("admin-link"), me.role === "admin");
    const hint = $("presence-hint");
    const why = me.status === "away" && me.away_reason ? ` (${me.away_reason})` : "";
    hint.textContent = me.status === "available" ? "" : `You are ${me.status}${why}: no new offers will reach you.`;
    show(hint, me.status !== "available");
  }

  // Why the agent is away: the hub's reasons, chosen beside the switch while away.
  function renderReason(me) {
    const select = $("away-reason");
    const reasons = state.awayReasons || [];
    if (select.options.length !== reasons.length + 1) {
      select.replaceChildren(
        new Option("No reason given", ""),
        ...reasons.map((reason) => new Option(reason, reason)),
      );
    }
    if (document.activeElement !== select) select.value = me.away_reason || "";
    show(select, me.status === "away" && reasons.length > 0);
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
    if (me.away_reasons) state.awayReasons = me.away_reasons;
    if (since !== changes && state.me) {
      me.status = state.me.status;
      me.away_reason = state.me.away_reason;
    }
    state.me = me;
    renderMe();
  }

  async function setPresence(status, reason) {
    const before = { status: state.me.status, away_reason: state.me.away_reason };
    changes += 1;
    Object.assign(state.me, { status, away_reason: reason });
    renderMe();
    try {
      await post("/api/me/status", reason ? { status, reason } : { status });
    } catch (error) {
      Object.assign(state.me, before);
      renderMe();
      toast(`Could not change your status: ${error.message}`, "error");
    }
  }

  function changePresence(event) {
    const status = event.target.value;
    return setPresence(status, status === "away" ? $("away-reason").value || null : null);
  }

  function changeReason(event) {
    return setPresence("away", event.target.value || null);
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
    $("away-reason").addEventListener("change", changeReason);
  });
})();

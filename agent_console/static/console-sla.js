// Switchboard console, SLA timers: the time left to a conversation's next target, amber
// once the policy's warning point passes, red once it is missed. The hub gives the
// instants (already counted in the queue's business hours); the browser counts down.
"use strict";

(() => {
  const { h } = window.SwitchboardPage;
  const app = window.SwitchboardConsole;
  const NAMES = { first_response: "First response", next_response: "Next response", resolution: "Resolution" };

  /** A timer element for `sla` (the API's {kind, due, warn, breached}), or an empty span. */
  function slaTimer(sla) {
    const el = h("span", { class: "sla-timer", role: "timer" });
    setTimer(el, sla);
    return el;
  }

  function setTimer(el, sla) {
    if (!sla) {
      el.hidden = true;
      delete el.dataset.due;
      return;
    }
    el.hidden = false;
    el.dataset.kind = sla.kind;
    el.dataset.due = sla.due;
    el.dataset.warn = sla.warn;
    el.dataset.breached = sla.breached ? "1" : "";
    tick(el, Date.now());
  }

  function tick(el, now) {
    if (!el.dataset.due) return;
    const due = Date.parse(el.dataset.due);
    const warn = Date.parse(el.dataset.warn);
    const state = el.dataset.breached || now >= due ? "breached" : now >= warn ? "warn" : "ok";
    const seconds = Math.round(Math.abs(due - now) / 1000);
    const name = NAMES[el.dataset.kind] || el.dataset.kind;
    el.dataset.state = state;
    el.textContent = `${name} ${duration(seconds)} ${now >= due ? "over" : "left"}`;
    el.title = `${name} due ${new Date(due).toLocaleString()}`;
  }

  function duration(seconds) {
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.floor((seconds % 3600) / 60);
    const rest = String(seconds % 60).padStart(2, "0");
    return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
  }

  setInterval(() => {
    const now = Date.now();
    for (const el of document.querySelectorAll(".sla-timer")) tick(el, now);
  }, 1000);

  Object.assign(app, { slaTimer, setSlaTimer: setTimer });
})();

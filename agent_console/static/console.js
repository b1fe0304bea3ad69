// Switchboard agent console: what its panels share. Each panel is its own file
// (console-*.js) that registers what the others may call on window.SwitchboardConsole
// and listens for the page's events:
//   switchboard:conversation  detail: the open conversation (GET /api/conversations/{id}), or null
//   switchboard:leaving       detail: { id }: the open conversation is being left (switched,
//                             closed, wrapped up); a panel drops what it was loading for it
//
// The live socket /console/ws only says *that* something happened (a type and ids);
// the page then re-reads what it shows over the JSON API. Every piece of text that a
// customer could have written reaches the page through textContent, never as markup.
"use strict";

window.SwitchboardConsole = (() => {
  const state = {
    me: null,
    offers: new Map(), // offer_id -> { offer, total, detail, el }
    conversations: new Map(), // id -> { summary, detail, unread }
    openId: null,
    open: null, // the open conversation, as GET /api/conversations/{id} returns it
    clockOffset: 0, // server clock minus ours, from event timestamps
  };

  /** fn, run now or, if a run is under way, once more after it: overlapping calls collapse. */
  function coalesce(fn) {
    let running = null;
    let again = false;
    return () => {
      if (running) {
        again = true;
        return running;
      }
      running = (async () => {
        try {
          do {
            again = false;
            await fn();
          } while (again);
        } finally {
          running = null;
        }
      })();
      return running;
    };
  }

  function clockTime(iso) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime())
      ? ""
      : date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function dateTime(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return "";
    const sameDay = date.toDateString() === new Date().toDateString();
    return sameDay
      ? clockTime(iso)
      : date.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  function customerName(detail) {
    return (detail && detail.customer && detail.customer.name) || "Unknown customer";
  }

  function lastIncoming(detail) {
    const incoming = (detail && detail.messages ? detail.messages : []).filter((m) => m.direction === "incoming");
    return incoming.length ? incoming[incoming.length - 1] : null;
  }

  function lastVisible(detail) {
    const visible = (detail && detail.messages ? detail.messages : []).filter((m) => m.direction !== "note");
    return visible.length ? visible[visible.length - 1] : null;
  }

  function serverNow() {
    return Date.now() + state.clockOffset;
  }

  function updateTitle() {
    const unread = [...state.conversations.values()].reduce((sum, c) => sum + c.unread, 0);
    const waiting = state.offers.size + unread;
    document.title = waiting ? `(${waiting}) Switchboard console` : "Switchboard console";
  }

  /** True for the error a request ends with when the page called it off. */
  function aborted(error) {
    return error && error.name === "AbortError";
  }

  /** Run fn once the page is parsed. */
  function ready(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }

  return {
    state, coalesce, clockTime, dateTime, customerName, lastIncoming, lastVisible,
    serverNow, updateTitle, aborted, ready,
  };
})();

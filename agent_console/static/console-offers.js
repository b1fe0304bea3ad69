// Switchboard console, the Offers panel: contacts offered to me, each with its countdown,
// Accept and Reject; an open offer rings until it is taken, turned down or gone.
"use strict";

(() => {
  const { $, h, show, reconcile, toast, get, post } = window.SwitchboardPage;
  const app = window.SwitchboardConsole;
  const { state, customerName, lastIncoming, serverNow, updateTitle } = app;
  const TICK_MS = 250;

  function addOffer(offer, announcedAt) {
    const id = offer.offer_id;
    if (state.offers.has(id)) return;
    const expires = Date.parse(offer.expires_at);
    const start = announcedAt ? Date.parse(announcedAt) : serverNow();
    const entry = { offer, expires, total: Math.max(1000, expires - start), detail: null, busy: false };
    state.offers.set(id, entry);
    renderOffers();
    get(`/api/conversations/${offer.conversation_id}`)
      .then((detail) => {
        entry.detail = detail;
        renderOffers();
        if (announcedAt && state.offers.has(id)) notifyOffer(entry); // new, not a reload
      })
      .catch(() => {}); // the offer may already be gone; its card says so when it ends
  }

  function dropOffer(offerId) {
    if (state.offers.delete(offerId)) renderOffers();
  }

  function renderOffers() {
    const ids = [...state.offers.keys()].sort((a, b) => a - b);
    reconcile($("offers"), ids, (id, el) => offerCard(state.offers.get(id), el));
    $("offer-count").textContent = String(ids.length);
    show($("offers-empty"), ids.length === 0);
    updateTitle();
    tick();
  }

  // --- ringing --------------------------------------------------------------------
  // An open offer rings, a short two-tone chirp every few seconds, until it is taken,
  // turned down or gone: an agent in another tab or window still hears it. With the
  // page hidden, a desktop notification says who it is (if the agent allowed them).
  // The bell in the Offers heading silences both, remembered on this browser.

  const RING_EVERY_MS = 3000;
  const RING_KEY = "switchboard.ring";
  const ring = { timer: null, audio: null, muted: localStorage.getItem(RING_KEY) === "off" };

  /** The page's sound output, woken up (browsers start it only after a click or key). */
  function soundOutput() {
    const Output = window.AudioContext || window.webkitAudioContext;
    if (!Output) return null;
    if (!ring.audio) ring.audio = new Output();
    if (ring.audio.state === "suspended") ring.audio.resume().catch(() => {});
    return ring.audio;
  }

  function chirp() {
    const output = soundOutput();
    if (!output) return;
    const start = output.currentTime;
    for (const [offset, frequency] of [[0, 880], [0.18, 660]]) {
      const tone = output.createOscillator();
      const volume = output.createGain();
      tone.frequency.value = frequency;
      volume.gain.setValueAtTime(0.0001, start + offset);
      volume.gain.exponentialRampToValueAtTime(0.2, start + offset + 0.02);
      volume.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.16);
      tone.connect(volume).connect(output.destination);
      tone.start(start + offset);
      tone.stop(start + offset + 0.17);
    }
  }

  function updateRing() {
    const now = serverNow();
    const open = [...state.offers.values()].some((entry) => entry.expires > now && !entry.busy)
      || $("offers").dataset.callRinging === "true"; // a call without an offer (console-phone.js)
    const ringing = open && !ring.muted;
    $("offers").dataset.ringing = String(ringing);
    if (ringing && ring.timer === null) {
      chirp();
      ring.timer = setInterval(chirp, RING_EVERY_MS);
    } else if (!ringing && ring.timer !== null) {
      clearInterval(ring.timer);
      ring.timer = null;
    }
  }

  function renderRingToggle() {
    const button = $("ring-toggle");
    button.setAttribute("aria-pressed", String(!ring.muted));
    button.textContent = ring.muted ? "Sound off" : "Sound on";
    button.title = ring.muted ? "Offers are silent: click to ring" : "Offers ring: click to silence";
  }

  function toggleRing() {
    ring.muted = !ring.muted;
    localStorage.setItem(RING_KEY, ring.muted ? "off" : "on");
    if (!ring.muted) {
      soundOutput();
      if (window.Notification && Notification.permission === "default") {
        Notification.requestPermission().catch(() => {});
      }
    }
    renderRingToggle();
    updateRing();
  }

  /** A desktop notification for an offer that arrives while the console is out of sight. */
  function notifyOffer(entry) {
    if (ring.muted || !document.hidden || !window.Notification) return;
    if (Notification.permission !== "granted") return;
    const detail = entry.detail;
    const name = detail ? customerName(detail) : "A customer";
    const channel = detail ? detail.channel : entry.offer.channel || "contact";
    const note = new Notification(`New ${channel} offer`, {
      body: name,
      tag: `offer-${entry.offer.offer_id}`,
    });
    note.onclick = () => {
      window.focus();
      note.close();
    };
  }

  function offerCard(entry, el) {
    const detail = entry.detail;
    const name = detail ? customerName(detail) : "New contact";
    const channel = detail ? detail.channel : entry.offer.channel || "";
    const preview = detail ? (lastIncoming(detail) || { text: detail.subject }).text : "Loading…";
    if (!el) {
      el = h("li", { class: "offer" },
        h("div", { class: "offer-head" },
          h("span", { class: "badge channel" }),
          h("strong", { class: "offer-name" }),
          h("span", { class: "offer-countdown", "aria-hidden": "true" })),
        h("p", { class: "offer-preview" }),
        h("div", { class: "offer-timer", "aria-hidden": "true" }, h("div", { class: "offer-timer-bar" })),
        h("div", { class: "actions" },
          h("button", { type: "button", class: "primary accept", onclick: () => decide(entry, "accept") }, "Accept"),
          h("button", { type: "button", class: "secondary reject", onclick: () => decide(entry, "reject") }, "Reject")));
    }
    el.querySelector(".channel").textContent = channel;
    el.querySelector(".offer-name").textContent = name;
    el.querySelector(".offer-preview").textContent = preview;
    el.querySelector(".accept").setAttribute("aria-label", `Accept ${channel} from ${name}`);
    el.querySelector(".reject").setAttribute("aria-label", `Reject ${channel} from ${name}`);
    entry.el = el;
    return el;
  }

  async function decide(entry, action) {
    if (entry.busy) return;
    entry.busy = true;
    entry.el.setAttribute("aria-busy", "true");
    const id = entry.offer.offer_id;
    try {
      const result = await post(`/api/offers/${id}/${action}`);
      dropOffer(id);
      if (action === "accept") {
        // A call is put through to this browser now: the softphone answers it (console-phone.js).
        const channel = entry.detail ? entry.detail.channel : entry.offer.channel;
        document.dispatchEvent(new CustomEvent("switchboard:offer-accepted",
          { detail: { conversationId: result.conversation_id, channel } }));
        await app.loadConversations();
        await app.openConversation(result.conversation_id, { focus: true });
      }
    } catch (error) {
      const gone = error.status === 409 || error.status === 404;
      if (gone) dropOffer(id);
      toast(gone ? "That offer is no longer open." : error.message, "error");
    } finally {
      entry.busy = false;
      entry.el.removeAttribute("aria-busy");
    }
  }

  /** Countdowns: one timer for every offer card. */
  function tick() {
    updateRing();
    const now = serverNow();
    for (const [id, entry] of state.offers) {
      const left = entry.expires - now;
      if (left < -2000) {
        dropOffer(id); // the offer.expired event got lost; the hub expired it anyway
        return;
      }
      if (!entry.el) continue;
      const seconds = Math.max(0, Math.ceil(left / 1000));
      const countdown = entry.el.querySelector(".offer-countdown");
      countdown.textContent = left > 0 ? `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}` : "Expired";
      entry.el.querySelector(".offer-timer-bar").style.width = `${Math.max(0, Math.min(1, left / entry.total)) * 100}%`;
      entry.el.classList.toggle("urgent", left < 10000);
      entry.el.classList.toggle("expired", left <= 0);
      for (const button of entry.el.querySelectorAll("button")) button.disabled = left <= 0;
    }
  }

  Object.assign(app, { addOffer, dropOffer, renderOffers });

  app.ready(() => {
    $("ring-toggle").addEventListener("click", toggleRing);
    renderRingToggle();
    for (const kind of ["pointerdown", "keydown"]) {
      document.addEventListener(kind, () => ring.muted || soundOutput(), { once: true });
    }
    setInterval(tick, TICK_MS);
  });
})();

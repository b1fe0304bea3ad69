// Switchboard agent console: the inbox, the open conversation and the customer's context.
//
// The live socket /console/ws only says *that* something happened (a type and ids);
// the page then re-reads what it shows over the JSON API. Every piece of text that a
// customer could have written reaches the page through textContent, never as markup.
"use strict";

(() => {
  const { $, h, show, initials, reconcile, toast, ApiError, api, get, post } = window.SwitchboardPage;
  const RECONNECT_MIN_MS = 500;
  const RECONNECT_MAX_MS = 15000;
  const PING_MS = 25000;
  const TYPING_SEND_MS = 3000;
  const TYPING_SHOW_MS = 30000; // unless the customer's "stopped typing" comes first
  const TYPING_IDLE_MS = 5000; // no keystroke for this long: I stopped typing
  const TICK_MS = 250;
  const TIMELINE_LABELS = {
    "customer.created": "New customer",
    "contact.received": "Message received",
    "conversation.queued": "Queued",
    "offer.created": "Offered",
    "offer.accepted": "Offer accepted",
    "conversation.assigned": "Assigned",
    "reply.sent": "Reply sent",
    "note.added": "Private note",
    "conversation.closed": "Closed",
    "offer.rejected": "Offer rejected",
    "offer.expired": "Offer expired",
    "call.status": "Call",
    "call.queue_left": "Left the queue",
    "call.connected": "Call put through",
    "call.missed": "Call missed",
    "call.failed": "Call not put through",
    "callback.placed": "Calling back",
    "call.dial_ended": "Agent's line",
    "call.ended": "Call had ended",
    "offer.withdrawn": "Offer withdrawn",
    "conversation.abandoned": "Abandoned",
    "chat.details": "Details given in chat",
    "conversation.by_email": "Continues by email",
    "conversation.overflowed": "Overflowed",
    "conversation.rejected": "Queue full",
  };
  const DELIVERY_LABELS = {
    queued: "Sending…",
    sent: "Sent",
    delivered: "Delivered",
    read: "Read",
    failed: "Not delivered",
  };

  // --- DOM --------------------------------------------------------------------

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

  // --- state ------------------------------------------------------------------

  const state = {
    me: null,
    offers: new Map(), // offer_id -> { offer, total, detail, el }
    conversations: new Map(), // id -> { summary, detail, unread }
    openId: null,
    open: null, // the open conversation, as GET /api/conversations/{id} returns it
    clockOffset: 0, // server clock minus ours, from event timestamps
    knowledgeQuery: null,
  };

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

  // --- top bar: who I am, presence, connection --------------------------------

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

  async function changePresence(event) {
    const status = event.target.value;
    const before = state.me.status;
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

  function updateTitle() {
    const unread = [...state.conversations.values()].reduce((sum, c) => sum + c.unread, 0);
    const waiting = state.offers.size + unread;
    document.title = waiting ? `(${waiting}) Switchboard console` : "Switchboard console";
  }

  // --- offers -----------------------------------------------------------------

  function serverNow() {
    return Date.now() + state.clockOffset;
  }

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
    const open = [...state.offers.values()].some((entry) => entry.expires > now && !entry.busy);
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
        await loadConversations();
        await openConversation(result.conversation_id, { focus: true });
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

  // --- the conversation list ----------------------------------------------------

  const loadConversations = coalesce(readConversations);

  async function readConversations() {
    const rows = await get("/api/conversations");
    const seen = new Set();
    for (const summary of rows) {
      seen.add(summary.id);
      const known = state.conversations.get(summary.id);
      if (known) {
        const changed = known.summary.updated_at !== summary.updated_at;
        known.summary = summary;
        if (changed || !known.detail) refreshSummary(summary.id);
      } else {
        state.conversations.set(summary.id, { summary, detail: null, unread: 0 });
        refreshSummary(summary.id);
      }
    }
    for (const id of [...state.conversations.keys()]) {
      if (!seen.has(id)) state.conversations.delete(id);
    }
    renderConversations();
  }

  async function refreshSummary(id) {
    try {
      const detail = await get(`/api/conversations/${id}`);
      const entry = state.conversations.get(id);
      if (!entry) return;
      entry.detail = detail;
      renderConversations();
    } catch (error) {
      if (error.status === 404) forgetConversation(id);
    }
  }

  function forgetConversation(id) {
    state.conversations.delete(id);
    renderConversations();
  }

  function renderConversations() {
    const ids = [...state.conversations.keys()];
    reconcile($("conversations"), ids, (id, el) => conversationItem(id, el));
    $("conversation-count").textContent = String(ids.length);
    show($("conversations-empty"), ids.length === 0);
    updateTitle();
  }

  function conversationItem(id, el) {
    const entry = state.conversations.get(id);
    if (!el) {
      el = h("li", {},
        h("button", { type: "button", class: "conversation-item", onclick: () => openConversation(id, { focus: true }) },
          h("span", { class: "item-top" },
            h("span", { class: "avatar", "aria-hidden": "true" }),
            h("span", { class: "item-name" }),
            h("span", { class: "unread" })),
          h("span", { class: "item-bottom" },
            h("span", { class: "badge channel" }),
            h("span", { class: "item-preview" }))));
    }
    const name = entry.detail ? customerName(entry.detail) : "…";
    const last = lastVisible(entry.detail);
    el.querySelector(".avatar").textContent = initials(name);
    el.querySelector(".item-name").textContent = name;
    el.querySelector(".channel").textContent = entry.summary.channel;
    el.querySelector(".item-preview").textContent = last ? last.text : entry.summary.subject;
    const unread = el.querySelector(".unread");
    unread.textContent = entry.unread ? String(entry.unread) : "";
    unread.setAttribute("aria-label", entry.unread ? `${entry.unread} unread` : "");
    show(unread, entry.unread > 0);
    const button = el.querySelector("button");
    if (id === state.openId) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
    return el;
  }

  // --- the open conversation -----------------------------------------------------

  let openSequence = 0;

  async function openConversation(id, { focus = false } = {}) {
    const switching = id !== state.openId;
    state.openId = id;
    const entry = state.conversations.get(id);
    if (entry) entry.unread = 0;
    if (switching) {
      state.open = null;
      state.knowledgeQuery = null;
      $("messages").replaceChildren();
      $("timeline").replaceChildren();
      setWrapup(false);
      hideTyping();
      $("reply").value = "";
      $("composer-error").textContent = "";
    }
    renderConversations();
    history.replaceState(null, "", `#conversation-${id}`);
    await reloadOpen();
    if (focus && state.openId === id) $("reply").focus();
  }

  const reloadOpen = coalesce(readOpen);

  async function readOpen() {
    const id = state.openId;
    if (id === null) return;
    const sequence = ++openSequence;
    let detail;
    try {
      detail = await get(`/api/conversations/${id}`);
    } catch (error) {
      if (error.status === 404 && state.openId === id) closeView(`That conversation is no longer yours.`);
      return;
    }
    if (sequence !== openSequence || state.openId !== id) return;
    state.open = detail;
    const entry = state.conversations.get(id);
    if (entry) {
      entry.detail = detail;
      renderConversations();
    }
    renderThread(detail);
    reportSeen(detail);
    renderCustomer(detail.customer);
    loadTimeline(detail.customer.id);
    loadPossible(detail.customer.id);
    loadKnowledge(detail);
    document.dispatchEvent(new CustomEvent("switchboard:conversation", { detail }));
  }

  /** Tell the hub I have seen the customer's newest message (mine, on a page in view). */
  function reportSeen(detail) {
    if (document.visibilityState !== "visible" || !state.me || detail.agent_id !== state.me.id) return;
    const incoming = detail.messages.filter((m) => m.direction === "incoming");
    const newest = incoming[incoming.length - 1];
    if (!newest || newest.delivery_status === "read") return;
    post(`/api/conversations/${detail.id}/seen`, { message_id: newest.id }).catch(() => {});
  }

  function renderThread(detail) {
    show($("conversation-empty"), false);
    show($("conversation"), true);
    $("conversation-title").textContent = customerName(detail);
    const meta = $("conversation-meta");
    meta.replaceChildren(
      h("span", { class: "badge channel" }, detail.channel),
      h("span", { class: "subject" }, detail.subject || ""),
    );
    for (const call of detail.calls || []) meta.append(h("span", { class: "badge call" }, callLine(call)));
    if (detail.status !== "assigned") meta.append(h("span", { class: "badge status" }, detail.status));
    const closed = detail.status !== "assigned";
    for (const control of [$("reply"), $("send-button"), $("note-button"), $("wrapup-toggle"), $("canned-button")]) {
      control.disabled = closed;
    }
    const list = $("messages");
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    const before = list.children.length;
    reconcile(list, detail.messages.map((m) => m.id), (id, el) => messageItem(detail, id, el));
    if (nearBottom || list.children.length > before) list.scrollTop = list.scrollHeight;
  }

  /** One phone call in a line of text: a callback's number, or progress and duration. */
  function callLine(call) {
    if (call.kind === "callback_request") return `Call back ${call.number}`;
    const minutes = (seconds) => `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
    const parts = [call.kind === "callback" ? `Callback ${call.number}` : "Call", call.status];
    if (call.duration !== null && call.duration !== undefined) parts.push(minutes(call.duration));
    if (call.queue_seconds !== null && call.queue_seconds !== undefined) parts.push(`waited ${minutes(call.queue_seconds)}`);
    return parts.join(" · ");
  }

  // Pictures and sound the hub serves with their own type are shown in place; anything
  // else is a download (the hub never serves a customer's file as a page).
  const PICTURE_TYPES = /^image\/(png|jpeg|gif|webp)$/;
  const SOUND_TYPES = /^audio\/(wav|x-wav|mpeg|ogg)$/;

  function fileSize(bytes) {
    if (!bytes) return "";
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
    return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  }

  /** What the customer attached: a link to each, with a preview or a player where it helps. */
  function attachmentList(conversationId, message) {
    const attachments = message.attachments || [];
    if (!attachments.length) return null;
    return h("ul", { class: "attachments", "aria-label": "Attachments" },
      attachments.map((attachment, index) => {
        const url = `/api/conversations/${conversationId}/messages/${message.id}/attachments/${index}`;
        const type = String(attachment.content_type || "").toLowerCase();
        const name = String(attachment.name || "attachment");
        return h("li", { class: "attachment" },
          PICTURE_TYPES.test(type)
            ? h("img", { class: "attachment-preview", src: url, alt: name, loading: "lazy" })
            : null,
          SOUND_TYPES.test(type) ? h("audio", { controls: true, preload: "none", src: url }) : null,
          h("a", { class: "attachment-link", href: url, download: name }, name),
          attachment.size ? h("span", { class: "attachment-size" }, fileSize(attachment.size)) : null);
      }));
  }

  /** An email's quoted earlier mail, folded away: the thread already shows it. */
  function quotedText(message) {
    const full = message.full_text || "";
    if (!full || full.trim() === (message.text || "").trim()) return null;
    return h("details", { class: "message-quoted" },
      h("summary", {}, "Show quoted text"),
      h("div", { class: "message-quoted-text" }, full));
  }

  function messageItem(detail, id, el) {
    const message = detail.messages.find((m) => m.id === id);
    if (!el) {
      el = h("li", { class: `message message-${message.direction}` },
        h("div", { class: "message-meta" },
          h("span", { class: "message-sender" }),
          message.channel && message.channel !== detail.channel
            ? h("span", { class: "badge channel message-channel", title: `Sent by ${message.channel}` }, message.channel)
            : null,
          h("time", { class: "message-time" })),
        h("div", { class: "message-text" }),
        quotedText(message),
        attachmentList(detail.id, message),
        message.direction === "outgoing" ? h("div", { class: "message-status" }) : null);
    }
    let sender = message.sender;
    if (message.direction === "incoming") sender = customerName(detail);
    if (message.direction === "note") sender = "Private note";
    el.querySelector(".message-sender").textContent = sender;
    const time = el.querySelector(".message-time");
    time.textContent = clockTime(message.at);
    time.setAttribute("datetime", message.at);
    el.querySelector(".message-text").textContent = message.text;
    const status = el.querySelector(".message-status");
    if (status) {
      status.textContent = DELIVERY_LABELS[message.delivery_status] || message.delivery_status;
      status.dataset.status = message.delivery_status;
      status.title = message.delivery_detail || "";
    }
    return el;
  }

  function closeView(message) {
    state.openId = null;
    state.open = null;
    state.knowledgeQuery = null;
    history.replaceState(null, "", window.location.pathname);
    show($("conversation"), false);
    show($("conversation-empty"), true);
    $("messages").replaceChildren();
    hideTyping();
    setWrapup(false);
    renderCustomer(null);
    renderTimeline([]);
    renderSuggestions([], "");
    renderConversations();
    document.dispatchEvent(new CustomEvent("switchboard:conversation", { detail: null }));
    if (message) toast(message);
  }

  // --- composing: reply, note, typing --------------------------------------------

  let sending = false;

  async function submitText(kind) {
    const box = $("reply");
    const text = box.value.trim();
    const id = state.openId;
    if (!text || sending || id === null) return;
    sending = true;
    $("composer").setAttribute("aria-busy", "true");
    $("composer-error").textContent = "";
    try {
      const body = { text };
      const via = $("reply-channel").value; // another channel the customer can be reached on
      if (kind === "reply" && via && state.open && via !== state.open.reply_channel) body.channel = via;
      await post(`/api/conversations/${id}/${kind}`, body);
      if (state.openId === id) {
        box.value = "";
        fitComposer();
      }
      await reloadOpen();
    } catch (error) {
      $("composer-error").textContent = error.message;
    } finally {
      sending = false;
      $("composer").removeAttribute("aria-busy");
    }
  }

  function onComposerKey(event) {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    submitText("reply");
  }

  let lastTypingSent = 0; // 0 while I am not typing
  let typingIdle = null;
  function onComposerInput() {
    fitComposer();
    clearTimeout(typingIdle);
    if (state.openId === null) return;
    if (!$("reply").value.trim()) return stopTyping();
    typingIdle = setTimeout(stopTyping, TYPING_IDLE_MS);
    const now = Date.now();
    if (now - lastTypingSent < TYPING_SEND_MS) return;
    lastTypingSent = now;
    post(`/api/conversations/${state.openId}/typing`, { on: true }).catch(() => {});
  }

  /** The customer's "Agent is typing" goes at once, not 30 s later. */
  function stopTyping() {
    clearTimeout(typingIdle);
    if (!lastTypingSent || state.openId === null) return;
    lastTypingSent = 0;
    post(`/api/conversations/${state.openId}/typing`, { on: false }).catch(() => {});
  }

  function fitComposer() {
    const box = $("reply");
    box.style.height = "auto";
    box.style.height = `${Math.min(box.scrollHeight + 2, 220)}px`;
  }

  let typingTimer = null;
  function showTyping() {
    $("typing").textContent = `${customerName(state.open)} is typing…`;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, TYPING_SHOW_MS);
  }

  function hideTyping() {
    clearTimeout(typingTimer);
    $("typing").textContent = "";
  }

  // --- wrap-up -------------------------------------------------------------------

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
    try {
      await post(`/api/conversations/${id}/close`, {
        disposition: $("disposition").value,
        summary: $("summary").value.trim(),
      });
    } catch (error) {
      $("wrapup-error").textContent = error.message;
      return;
    }
    $("summary").value = "";
    $("disposition").selectedIndex = 0;
    forgetConversation(id);
    closeView(`Conversation with ${name} closed.`);
    const next = $("conversations").querySelector("button");
    (next || $("offers-heading")).focus();
  }

  // --- the customer panel --------------------------------------------------------------

  function renderCustomer(customer) {
    show($("customer-empty"), !customer);
    show($("customer"), Boolean(customer));
    if (!customer) return;
    $("customer-name").textContent = customer.name || "Unknown customer";
    const segment = $("customer-segment");
    segment.textContent = customer.segment || "";
    segment.dataset.segment = customer.segment || "";
    $("customer-addresses").replaceChildren(
      ...customer.addresses.flatMap((a) => [h("dt", {}, a.channel), h("dd", {}, a.address)]),
    );
  }

  // Customers the hub thinks may be this one: one click merges (and can be undone).
  let possibleSequence = 0;
  let lastMerge = null; // { mergeId, survivorId }: offered for undo until the next one
  async function loadPossible(customerId) {
    const sequence = ++possibleSequence;
    let matches = [];
    try {
      matches = await get(`/api/customers/${customerId}/possible`);
    } catch (error) {
      matches = [];
    }
    if (sequence !== possibleSequence || !state.open || state.open.customer.id !== customerId) return;
    const children = matches.map(renderPossible);
    if (lastMerge && lastMerge.survivorId === customerId) children.unshift(undoNotice(lastMerge.mergeId));
    possibleBox().replaceChildren(...children);
  }

  function undoNotice(mergeId) {
    return h("p", { class: "possible-done" }, "Merged: both histories are kept. ",
      h("button", { type: "button", class: "secondary", onclick: () => undoMerge(mergeId) }, "Undo merge"));
  }

  function possibleBox() {
    let box = $("customer-possible");
    if (!box) {
      box = h("div", { id: "customer-possible", class: "possible", "aria-live": "polite" });
      $("customer").append(box);
    }
    return box;
  }

  function renderPossible(match) {
    const other = match.customer;
    return h("div", { class: "possible-match", dataset: { link: match.link_id } },
      h("p", {}, "Possibly the same as ", h("strong", {}, other.name || `customer #${other.id}`),
        ` (${Math.round(match.probability * 100)} %)`),
      h("dl", { class: "addresses" },
        ...other.addresses.flatMap((a) => [h("dt", {}, a.channel), h("dd", {}, a.address)])),
      h("button", { type: "button", class: "merge", onclick: () => mergePossible(match) }, "Merge"),
      " ",
      h("button", { type: "button", class: "secondary", onclick: () => dismissPossible(match) }, "Not the same"));
  }

  async function mergePossible(match) {
    let done;
    try {
      done = await post(`/api/customer-links/${match.link_id}/merge`);
    } catch (error) {
      toast(error.message, "error");
      return;
    }
    lastMerge = { mergeId: done.merge_id, survivorId: done.survivor_id };
    possibleBox().replaceChildren(undoNotice(done.merge_id));
    toast("Customers merged.");
    reloadOpen();
  }

  async function dismissPossible(match) {
    try {
      await post(`/api/customer-links/${match.link_id}/dismiss`);
    } catch (error) {
      toast(error.message, "error");
      return;
    }
    if (state.open) loadPossible(state.open.customer.id);
  }

  async function undoMerge(mergeId) {
    try {
      await post(`/api/merges/${mergeId}/undo`);
    } catch (error) {
      toast(error.message, "error");
      return;
    }
    lastMerge = null;
    toast("Merge undone.");
    reloadOpen();
  }

  let timelineSequence = 0;
  async function loadTimeline(customerId) {
    const sequence = ++timelineSequence;
    try {
      const events = await get(`/api/customers/${customerId}/timeline`);
      if (sequence === timelineSequence && state.open && state.open.customer.id === customerId) renderTimeline(events);
    } catch (error) {
      if (sequence === timelineSequence) renderTimeline([]);
    }
  }

  function renderTimeline(events) {
    reconcile($("timeline"), events.map((e) => e.id), (id, el) => {
      if (el) return el; // a timeline event never changes
      const event = events.find((e) => e.id === id);
      const channel = event.data && event.data.channel;
      return h("li", { class: "timeline-event", dataset: { kind: event.kind } },
        h("div", { class: "timeline-head" },
          h("span", { class: "timeline-kind" }, TIMELINE_LABELS[event.kind] || event.kind),
          channel ? h("span", { class: "badge channel" }, channel) : null,
          h("time", { datetime: event.at }, dateTime(event.at))),
        event.summary ? h("p", { class: "timeline-summary" }, event.summary) : null);
    });
    show($("timeline-empty"), events.length === 0);
  }

  // --- knowledge suggestions ---------------------------------------------------

  async function loadKnowledge(detail) {
    const latest = lastIncoming(detail);
    const query = latest ? latest.text : "";
    if (query === state.knowledgeQuery) return;
    state.knowledgeQuery = query;
    if (!query) {
      renderSuggestions([], "");
      return;
    }
    try {
      const suggestions = await get(`/api/knowledge/search?q=${encodeURIComponent(query)}`);
      if (state.knowledgeQuery === query) renderSuggestions(suggestions, query);
    } catch (error) {
      if (state.knowledgeQuery === query) renderSuggestions([], query);
    }
  }

  function renderSuggestions(suggestions, query) {
    $("knowledge-query").textContent = query ? `For “${query.length > 80 ? `${query.slice(0, 80)}…` : query}”` : "";
    $("suggestions").replaceChildren(
      ...suggestions.map((s) =>
        h("li", { class: "suggestion" },
          h("div", { class: "suggestion-head" },
            h("strong", { class: "suggestion-title" }, s.title),
            h("span", { class: "suggestion-score", title: "Relevance score" }, Number(s.score).toFixed(2))),
          h("p", { class: "suggestion-snippet" }, s.snippet),
          h("div", { class: "suggestion-foot" },
            h("span", { class: "suggestion-method" }, s.method),
            h("button", {
              type: "button",
              class: "secondary small",
              "aria-label": `Mark ${s.title} helpful`,
              title: "Helpful",
              onclick: (event) => giveVerdict(s, query, "helpful", event.currentTarget),
            }, "👍"),
            h("button", {
              type: "button",
              class: "secondary small",
              "aria-label": `Mark ${s.title} not helpful`,
              title: "Not helpful",
              onclick: (event) => giveVerdict(s, query, "unhelpful", event.currentTarget),
            }, "👎"),
            h("button", {
              type: "button",
              class: "secondary small",
              "aria-label": `Insert snippet from ${s.title}`,
              onclick: () => {
                insertSnippet(s.snippet);
                giveVerdict(s, query, "inserted", null);
              },
            }, "Insert")))),
    );
    const empty = $("suggestions-empty");
    empty.textContent = query ? "No matching articles." : "Suggestions for the customer's latest message appear here.";
    show(empty, suggestions.length === 0);
  }

  // What the agent thought of a suggestion teaches the index for similar questions.
  async function giveVerdict(suggestion, question, verdict, button) {
    try {
      await post(`/api/knowledge/articles/${suggestion.article_id}/feedback`, {
        question, verdict, conversation_id: state.openId || null,
      });
      if (button) {
        button.disabled = true;
        button.setAttribute("aria-pressed", "true");
      }
    } catch (error) {
      // Feedback is a hint, not work: losing one never interrupts the agent.
    }
  }

  function insertSnippet(snippet) {
    const box = $("reply");
    if (box.disabled) return;
    const start = box.selectionStart;
    const end = box.selectionEnd;
    const before = box.value.slice(0, start);
    const spacer = before && !/\s$/.test(before) ? " " : "";
    box.setRangeText(spacer + snippet, start, end, "end");
    box.focus();
    fitComposer();
  }

  // --- the live socket -------------------------------------------------------------

  const socket = { ws: null, attempt: 0, retry: null, ping: null };

  function connect() {
    clearTimeout(socket.retry);
    setConnection("connecting");
    const url = new URL("/console/ws", window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(url);
    socket.ws = ws;
    ws.addEventListener("open", () => {
      socket.attempt = 0;
      setConnection("live");
      socket.ping = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send("ping"), PING_MS);
      resync().catch((error) => toast(`Could not refresh: ${error.message}`, "error"));
    });
    ws.addEventListener("message", (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      handleEvent(event);
    });
    ws.addEventListener("close", () => {
      clearInterval(socket.ping);
      if (socket.ws === ws) scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    const base = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** socket.attempt);
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    socket.attempt += 1;
    setConnection("offline", delay);
    socket.retry = setTimeout(reconnect, delay);
  }

  async function reconnect() {
    try {
      await get("/api/me"); // a 401 here means the session ended: api() goes to the login page
    } catch (error) {
      if (error.status === 401) return;
    }
    connect();
  }

  function reconnectNow() {
    if (socket.ws && socket.ws.readyState <= WebSocket.OPEN) return;
    socket.attempt = 0;
    clearTimeout(socket.retry);
    reconnect();
  }

  /** Re-read everything the socket could have told us while it was away. */
  async function resync() {
    const known = [...state.offers.keys()];
    const [me, offers] = await Promise.all([get("/api/me"), get("/api/offers"), loadConversations()]);
    state.me = me;
    renderMe();
    // Offers announced while we were reading are newer than the list; keep them.
    const open = new Set(offers.map((o) => o.offer_id));
    for (const id of known) if (!open.has(id)) state.offers.delete(id);
    for (const offer of offers) addOffer(offer);
    renderOffers();
    if (state.openId !== null) {
      await reloadOpen();
    } else {
      const wanted = Number((window.location.hash.match(/^#conversation-(\d+)$/) || [])[1]);
      if (state.conversations.has(wanted)) await openConversation(wanted);
    }
  }

  function handleEvent(event) {
    if (event.ts) {
      const at = Date.parse(event.ts);
      if (!Number.isNaN(at)) state.clockOffset = at - Date.now();
    }
    // A supervisor's socket carries everyone's events for the wallboard; the console shows only mine.
    const someoneElse = "agent_id" in event && state.me && event.agent_id !== state.me.id;
    if (someoneElse && event.type !== "agent.state") return;
    const id = event.conversation_id;
    switch (event.type) {
      case "hello":
        state.me = event.agent;
        renderMe();
        break;
      case "agent.state":
        if (state.me && event.agent_id === state.me.id) {
          state.me.status = event.status;
          renderMe();
          if (event.status === "offline") loadConversations().then(dropLostOpen).catch(() => {});
        }
        break;
      case "offer.created":
        addOffer(event, event.ts);
        break;
      case "offer.expired":
      case "offer.rejected":
      case "offer.withdrawn":
        dropOffer(event.offer_id);
        break;
      case "conversation.assigned":
        dropOffer(event.offer_id);
        loadConversations().catch(() => {});
        break;
      case "message.received":
        onMessageReceived(id);
        break;
      case "message.status":
      case "message.sent":
        if (id === state.openId) reloadOpen();
        else if (state.conversations.has(id)) refreshSummary(id);
        break;
      case "customer.typing":
        if (id === state.openId && state.open) (event.on === false ? hideTyping : showTyping)();
        break;
      case "conversation.closed":
        forgetConversation(id);
        if (id === state.openId) closeView(event.why || "This conversation was closed.");
        else if (event.why) toast(event.why);
        break;
      case "call.updated":
        if (id === state.openId) reloadOpen();
        if (event.alert) toast(event.summary, "error");
        break;
      case "conversation.reassigned":
        forgetConversation(id);
        if (id === state.openId) closeView("A supervisor reassigned this conversation.");
        break;
      default:
        break;
    }
  }

  /** Close the open conversation if it left my list (a supervisor moved my work). */
  function dropLostOpen() {
    if (state.openId !== null && !state.conversations.has(state.openId)) {
      closeView("Your conversations went back to the queue.");
    }
  }

  function onMessageReceived(id) {
    const entry = state.conversations.get(id);
    if (!entry) {
      loadConversations().catch(() => {});
      return;
    }
    if (id === state.openId) {
      hideTyping();
      reloadOpen();
      return;
    }
    entry.unread += 1;
    renderConversations();
    refreshSummary(id);
  }

  // --- start --------------------------------------------------------------------------

  function start() {
    for (const input of document.querySelectorAll('input[name="presence"]')) {
      input.addEventListener("change", changePresence);
    }
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      submitText("reply");
    });
    $("reply").addEventListener("keydown", onComposerKey);
    $("reply").addEventListener("input", onComposerInput);
    $("note-button").addEventListener("click", () => submitText("note"));
    $("wrapup-toggle").addEventListener("click", () => setWrapup($("wrapup").hidden));
    $("wrapup-cancel").addEventListener("click", () => {
      setWrapup(false);
      $("wrapup-toggle").focus();
    });
    $("wrapup").addEventListener("submit", submitWrapup);
    $("wrapup").addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        setWrapup(false);
        $("wrapup-toggle").focus();
      }
    });
    window.addEventListener("online", reconnectNow);
    document.addEventListener("visibilitychange", () => state.open && reportSeen(state.open));
    $("ring-toggle").addEventListener("click", toggleRing);
    renderRingToggle();
    for (const kind of ["pointerdown", "keydown"]) {
      document.addEventListener(kind, () => ring.muted || soundOutput(), { once: true });
    }
    setInterval(tick, TICK_MS);
    connect();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

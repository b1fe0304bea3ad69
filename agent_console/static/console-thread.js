// Switchboard console, the open conversation: its heading, its messages and whether
// the customer is typing. It announces the conversation it shows (and leaving it) to
// the other panels with page events; see console.js.
"use strict";

(() => {
  const { $, h, show, reconcile, toast, get, post } = window.SwitchboardPage;
  const app = window.SwitchboardConsole;
  const { state, coalesce, clockTime, customerName } = app;
  const TYPING_SHOW_MS = 30000; // unless the customer's "stopped typing" comes first
  const DELIVERY_LABELS = {
    queued: "Sending…",
    sent: "Sent",
    delivered: "Delivered",
    read: "Read",
    failed: "Not delivered",
    undelivered: "Not delivered", // the provider took it, the phone never got it
  };
  const UNDELIVERED = new Set(["failed", "undelivered"]);

  function announce(name, detail) {
    document.dispatchEvent(new CustomEvent(`switchboard:${name}`, { detail }));
  }

  let openSequence = 0;
  // Everything loaded for the open conversation shares one signal, called off the moment
  // the agent leaves it or starts closing it: a late answer (or a 404 once the customer is
  // no longer the agent's) never reaches a panel showing something else.
  let scope = new AbortController();
  let closing = null; // the id being wrapped up: nothing more is loaded for it

  function openSignal() {
    return scope.signal;
  }

  function leave(id) {
    scope.abort();
    scope = new AbortController();
    closing = null;
    announce("leaving", { id });
  }

  /** Called before the hub is asked to close the open conversation; `release` if it refused. */
  function holdOpen() {
    scope.abort();
    scope = new AbortController();
    closing = state.openId;
    announce("closing", { id: closing });
  }

  function releaseOpen() {
    closing = null;
    reloadOpen();
  }

  async function openConversation(id, { focus = false } = {}) {
    const previous = state.openId;
    const switching = id !== previous;
    state.openId = id;
    const entry = state.conversations.get(id);
    if (entry) entry.unread = 0;
    if (switching) {
      state.open = null;
      $("messages").replaceChildren();
      hideTyping();
      leave(previous);
    }
    app.renderConversations();
    history.replaceState(null, "", `#conversation-${id}`);
    await reloadOpen();
    if (focus && state.openId === id) $("reply").focus();
  }

  const reloadOpen = coalesce(readOpen);

  async function readOpen() {
    const id = state.openId;
    if (id === null || id === closing) return;
    const sequence = ++openSequence;
    let detail;
    try {
      detail = await get(`/api/conversations/${id}`, { signal: openSignal() });
    } catch (error) {
      if (app.aborted(error)) return;
      if (error.status === 404 && state.openId === id) closeView(`That conversation is no longer yours.`);
      return;
    }
    if (sequence !== openSequence || state.openId !== id || closing === id) return;
    state.open = detail;
    const entry = state.conversations.get(id);
    if (entry) {
      entry.detail = detail;
      app.renderConversations();
    }
    renderThread(detail);
    reportSeen(detail);
    announce("conversation", detail);
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
    meta.append(app.slaTimer(detail.sla));
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

  /** Who else an email went to; BCC is seen here, by agents, and by no recipient. */
  function copyLine(label, addresses, note) {
    if (!addresses || !addresses.length) return null;
    return h("p", { class: `message-copies message-${label.toLowerCase()}` }, `${label}: ${addresses.join(", ")}${note}`);
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
        copyLine("Cc", message.cc, ""),
        copyLine("Bcc", message.bcc, " (not shown to recipients)"),
        h("div", { class: "message-text" }),
        quotedText(message),
        attachmentList(detail.id, message),
        message.direction === "outgoing" ? h("div", { class: "message-status" }) : null,
        message.direction === "outgoing" ? h("p", { class: "message-failure", hidden: true }) : null);
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
      const failure = el.querySelector(".message-failure");
      const failed = UNDELIVERED.has(message.delivery_status);
      failure.textContent = failed ? failureText(detail, message) : "";
      show(failure, failed);
    }
    return el;
  }

  /** Why a reply did not reach the customer, and what the agent can do about it. */
  function failureText(detail, message) {
    const reason = message.delivery_detail ? `: ${message.delivery_detail}` : "";
    const elsewhere = (detail.reply_channels || []).some((c) => c.channel !== detail.reply_channel && !c.opted_out);
    const advice = elsewhere
      ? "Send it again, or answer on another channel with “Reply on” below."
      : "Send it again later; if it keeps failing, ask an admin to check this channel's setup.";
    return `The customer did not get this reply${reason}. ${advice}`;
  }

  function closeView(message) {
    const id = state.openId;
    state.openId = null;
    state.open = null;
    history.replaceState(null, "", window.location.pathname);
    show($("conversation"), false);
    show($("conversation-empty"), true);
    $("messages").replaceChildren();
    hideTyping();
    leave(id);
    app.renderConversations();
    announce("conversation", null);
    if (message) toast(message);
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

  Object.assign(app, {
    openConversation, reloadOpen, reportSeen, closeView, showTyping, hideTyping, openSignal, holdOpen, releaseOpen,
  });
})();

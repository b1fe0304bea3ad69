/* Switchboard web chat widget. A page embeds it with one tag:
 *   <script src="https://hub.example/chat/widget.js" data-inbox="web" data-title="Acme support" async></script>
 * It talks to the hub's /chat/ws (protocol in channels/webchat/adapter.py). No dependencies, no
 * external assets: the UI lives in a shadow root so the page's CSS and ours never mix. */
(() => {
  "use strict";
  const script = document.currentScript || document.querySelector('script[src*="/chat/widget.js"]');
  if (!script || window.SwitchboardChat) return;

  const hubUrl = new URL(script.src, location.href).href.replace(/\/chat\/widget\.js([?#].*)?$/, "");
  const socketUrl = hubUrl.replace(/^http/, "ws") + "/chat/ws"; // https -> wss, http -> ws
  const inbox = script.dataset.inbox || "web";
  const title = script.dataset.title || "Chat with us";
  const storageKey = `switchboard:${new URL(hubUrl).host}:${inbox}`;
  const TYPING_EVERY_MS = 2500;
  const TYPING_SHOWN_MS = 30000; // unless the agent's "stopped typing" comes first
  const TYPING_IDLE_MS = 5000; // no keystroke for this long: the visitor stopped typing

  const CSS = `
    :host { all: initial; }
    * { box-sizing: border-box; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
    .launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; width: 56px; height: 56px;
      border: 0; border-radius: 50%; background: #1f4fd1; color: #fff; cursor: pointer;
      box-shadow: 0 4px 14px rgba(0,0,0,.25); display: grid; place-items: center; }
    .launcher:focus-visible, button:focus-visible, textarea:focus-visible { outline: 3px solid #ffbf47; }
    .bubble { width: 24px; height: 18px; border-radius: 9px; background: #fff; position: relative; }
    .bubble::after { content: ""; position: absolute; left: 4px; bottom: -5px; border: 5px solid transparent;
      border-top-color: #fff; border-left-color: #fff; }
    .unread { position: absolute; top: 4px; right: 4px; width: 12px; height: 12px; border-radius: 50%;
      background: #e5484d; border: 2px solid #fff; }
    .panel { position: fixed; right: 20px; bottom: 88px; z-index: 2147483000; width: 360px;
      max-width: calc(100vw - 40px); height: 520px; max-height: calc(100vh - 110px); display: flex;
      flex-direction: column; background: #fff; color: #1c2230; border-radius: 14px; overflow: hidden;
      box-shadow: 0 10px 40px rgba(0,0,0,.25); font-size: 14px; line-height: 1.4; }
    [hidden] { display: none !important; }
    header { background: #1f4fd1; color: #fff; padding: 14px 16px; display: flex; align-items: center; gap: 8px; }
    .heading { flex: 1; }
    header h2 { margin: 0; font-size: 16px; font-weight: 600; }
    .status { font-size: 12px; opacity: .85; }
    .close { background: none; border: 0; color: #fff; font-size: 22px; line-height: 1; cursor: pointer; }
    .end { background: none; border: 1px solid rgba(255,255,255,.7); border-radius: 6px; color: #fff;
      font-size: 12px; padding: 4px 8px; cursor: pointer; }
    .ending, .ended { font-size: 13px; padding: 10px 14px; background: #fff; border-top: 1px solid #dde2ec;
      display: flex; flex-wrap: wrap; align-items: center; gap: 8px; }
    .ending p, .ended p { margin: 0; flex-basis: 100%; }
    .ended p { font-weight: 600; }
    .ending .send, .ended .send { padding: 8px 14px; }
    .secondary { border: 1px solid #c6cdda; border-radius: 8px; padding: 8px 14px; background: #fff;
      color: inherit; cursor: pointer; }
    .log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 8px;
      background: #f5f7fb; }
    .greeting { color: #5b6475; text-align: center; margin: 24px 8px; }
    .msg { max-width: 80%; padding: 8px 12px; border-radius: 12px; white-space: pre-wrap;
      overflow-wrap: anywhere; }
    .msg.customer { align-self: flex-end; background: #1f4fd1; color: #fff; border-bottom-right-radius: 4px; }
    .msg.agent { align-self: flex-start; background: #fff; border: 1px solid #dde2ec; border-bottom-left-radius: 4px; }
    .meta { display: block; font-size: 11px; opacity: .75; margin-top: 2px; }
    .msg.agent .meta { margin: 0 0 2px; font-weight: 600; }
    .msg[data-state="sending"] { opacity: .7; }
    .msg[data-state="failed"] { background: #fde8e8; color: #8a1c1c; }
    .typing, .notice { font-size: 12px; padding: 4px 14px; color: #5b6475; background: #f5f7fb; }
    .notice { color: #8a1c1c; }
    form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #dde2ec; }
    textarea { flex: 1; resize: none; height: 42px; padding: 10px; border: 1px solid #c6cdda;
      border-radius: 8px; font-size: 14px; color: inherit; }
    .send { border: 0; border-radius: 8px; padding: 0 16px; background: #1f4fd1; color: #fff;
      font-weight: 600; cursor: pointer; }
    .msg.customer[data-state="read"] .meta:empty { display: none; }
    .away { font-size: 13px; padding: 10px 14px; background: #fff8e6; color: #5c4400;
      border-top: 1px solid #f0dfae; }
    .away p { margin: 0 0 6px; }
    .away form, .prechat form { border: 0; padding: 0; }
    .prechat { flex: 1; overflow-y: auto; padding: 18px 16px; background: #f5f7fb; }
    .prechat p { margin: 0 0 14px; color: #5b6475; }
    .prechat form { flex-direction: column; gap: 10px; }
    label { display: flex; flex-direction: column; gap: 4px; font-size: 13px; font-weight: 600; }
    input { padding: 9px 10px; border: 1px solid #c6cdda; border-radius: 8px; font-size: 14px;
      color: inherit; font-weight: 400; }
    input:focus-visible { outline: 3px solid #ffbf47; }
    .away input { flex: 1; min-width: 0; }
    .prechat .send, .away .send { padding: 9px 16px; }
    .panel .form-error { color: #8a1c1c; font-size: 12px; min-height: 1em; margin: 0; }
    .away .form-error:empty { display: none; }
    .copy { font-size: 13px; padding: 10px 14px; background: #fff; border-top: 1px solid #dde2ec; }
    .copy p { margin: 0 0 6px; }
    .copy form { border: 0; padding: 0; }
    .copy input { flex: 1; min-width: 0; }
    .copy .send { padding: 9px 16px; }
    .copy .form-error:empty { display: none; }
    .rating { align-self: stretch; background: #fff; border: 1px solid #dde2ec; border-radius: 12px;
      padding: 10px 12px; display: flex; flex-direction: column; gap: 8px; }
    .rating p { margin: 0; }
    .stars { display: flex; gap: 6px; }
    .stars button { flex: 1; padding: 8px 0; border: 1px solid #c6cdda; border-radius: 8px;
      background: #fff; color: inherit; font-weight: 600; cursor: pointer; }
    .stars button[aria-pressed="true"] { background: #1f4fd1; border-color: #1f4fd1; color: #fff; }
    .rating textarea { height: 56px; }
    .rating .send { align-self: flex-end; padding: 8px 14px; }
  `;

  function el(tag, className, text, attributes) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    return node;
  }

  // localStorage can be unavailable (privacy modes, blocked third-party storage): then a
  // conversation simply lasts as long as the page.
  const store = {
    get(name) {
      try { return localStorage.getItem(`${storageKey}:${name}`); } catch (e) { return null; }
    },
    set(name, value) {
      try {
        if (value === null) localStorage.removeItem(`${storageKey}:${name}`);
        else localStorage.setItem(`${storageKey}:${name}`, value);
      } catch (e) { /* keep going without persistence */ }
    },
  };

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID(); // secure contexts only
    const bytes = new Uint8Array(16);
    if (window.crypto && crypto.getRandomValues) crypto.getRandomValues(bytes);
    else bytes.forEach((_, i) => { bytes[i] = Math.floor(Math.random() * 256); });
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // --- the UI ---------------------------------------------------------------------------
  const host = el("div", "", "", { id: "switchboard-chat" });
  const root = host.attachShadow({ mode: "open" });
  const launcher = el("button", "launcher", "", {
    type: "button", "aria-label": `Open chat: ${title}`, "aria-expanded": "false" });
  const unread = el("span", "unread", "", { hidden: "" });
  launcher.append(el("span", "bubble"), unread);

  const panel = el("section", "panel", "", { role: "dialog", "aria-label": title, hidden: "" });
  const heading = el("div", "heading");
  const status = el("div", "status");
  heading.append(el("h2", "", title), status);
  const closeButton = el("button", "close", "\u00d7", { type: "button", "aria-label": "Close chat" });
  const endButton = el("button", "end", "End chat", { type: "button", hidden: "" });
  const copyButton = el("button", "end", "Email a copy", {
    type: "button", hidden: "", "aria-expanded": "false" });
  const header = el("header");
  header.append(heading, copyButton, endButton, closeButton);
  const greeting = el("p", "greeting", "Hi! Send us a message and a member of our team will reply here.");
  const log = el("div", "log", "", { role: "log", "aria-live": "polite" });
  log.append(greeting);
  const typing = el("div", "typing", "Agent is typing\u2026", { hidden: "" });
  const notice = el("div", "notice", "", { hidden: "" });
  const form = el("form");
  const input = el("textarea", "", "", { placeholder: "Write a message\u2026", "aria-label": "Message" });
  input.maxLength = 4000; // until the hub's welcome says otherwise
  form.append(input, el("button", "send", "Send", { type: "submit" }));
  // Asked before the first message when the company switches the pre-chat form on.
  const prechat = el("div", "prechat", "", { hidden: "" });
  const prechatForm = el("form", "", "", { "aria-label": "Before we start", novalidate: "" });
  const nameInput = el("input", "", "", { type: "text", name: "name", autocomplete: "name", maxlength: "200" });
  const emailInput = el("input", "", "", { type: "email", name: "email", autocomplete: "email", maxlength: "320" });
  const nameLabel = el("label", "", "Your name");
  nameLabel.append(nameInput);
  const emailLabel = el("label", "", "Your email");
  emailLabel.append(emailInput);
  const prechatError = el("p", "form-error", "", { role: "alert" });
  prechatForm.append(nameLabel, emailLabel, prechatError, el("button", "send", "Start chat", { type: "submit" }));
  prechat.append(el("p", "", "Before we start, please tell us who you are, so we can get back to you."), prechatForm);
  // Shown while nobody is online to answer.
  const away = el("div", "away", "", { hidden: "", role: "status" });
  const awayText = el("p");
  const awayForm = el("form", "", "", { "aria-label": "Reply by email", novalidate: "" });
  const awayEmail = el("input", "", "", {
    type: "email", name: "email", autocomplete: "email", maxlength: "320", "aria-label": "Your email",
    placeholder: "you@example.com" });
  const awayError = el("p", "form-error", "", { role: "alert" });
  awayForm.append(awayEmail, el("button", "send", "Reply by email", { type: "submit" }));
  away.append(awayText, awayForm, awayError);
  // Ending the chat: asked first only when the visitor would lose what they wrote.
  const ending = el("div", "ending", "", { hidden: "", role: "group", "aria-label": "End the chat?" });
  const endingText = el("p");
  const confirmEnd = el("button", "send", "End chat anyway", { type: "button" });
  const keepChatting = el("button", "secondary", "Keep chatting", { type: "button" });
  ending.append(endingText, confirmEnd, keepChatting);
  // A copy of the chat by email, when the visitor asks for one.
  const copy = el("div", "copy", "", { hidden: "" });
  const copyForm = el("form", "", "", { "aria-label": "Email a copy of this chat", novalidate: "" });
  const copyEmail = el("input", "", "", {
    type: "email", name: "email", autocomplete: "email", maxlength: "320",
    "aria-label": "Email for the copy", placeholder: "you@example.com" });
  const copyError = el("p", "form-error", "", { role: "alert" });
  copyForm.append(copyEmail, el("button", "send", "Send copy", { type: "submit" }));
  copy.append(el("p", "", "Send a copy of this chat to:"), copyForm, copyError);
  let copyAsked = false;
  const ended = el("div", "ended", "", { hidden: "" });
  const endedText = el("p", "", "Chat ended", { role: "status" });
  const newChat = el("button", "send", "Start a new chat", { type: "button" });
  ended.append(endedText, newChat);
  panel.append(header, log, prechat, away, typing, notice, copy, ending, ended, form);
  root.append(el("style", "", CSS), launcher, panel);

  /** The greeting promises an answer here: only before the first message, and not
   *  while the away notice says how the answer will come instead. */
  function showGreeting() {
    const written = log.querySelector(".msg") !== null;
    greeting.hidden = written || !away.hidden;
    return written;
  }

  function scrollDown() {
    endButton.hidden = !showGreeting() || leaving || !ended.hidden;
    copyButton.hidden = endButton.hidden;
    log.scrollTop = log.scrollHeight;
  }

  function setStatus(text) { status.textContent = text; }

  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = !text;
  }

  function mark(node, state, detail) {
    node.dataset.state = state;
    node.querySelector(".meta").textContent =
      state === "sending" ? "Sending\u2026" : state === "failed" ? `Not sent: ${detail}` : "Sent";
  }

  /** "Read" under the newest of the visitor's messages the agent has seen. */
  function showReceipts() {
    const mine = [...log.querySelectorAll(".msg.customer")].filter((node) =>
      node.dataset.messageId && (node.dataset.state === "sent" || node.dataset.state === "read"));
    const read = mine.filter((node) => Number(node.dataset.messageId) <= readUpTo);
    for (const node of mine) {
      const isRead = read.includes(node);
      node.dataset.state = isRead ? "read" : "sent";
      node.querySelector(".meta").textContent =
        node === read[read.length - 1] ? "Read" : isRead ? "" : "Sent";
    }
  }

  function render(from, text, author, messageId) {
    if (messageId != null && shown.has(messageId)) return null;
    if (messageId != null) shown.add(messageId);
    const node = el("div", `msg ${from === "agent" ? "agent" : "customer"}`);
    const body = el("span", "", text);
    if (from === "agent") node.append(el("span", "meta", author || "Support"), body);
    else node.append(body, el("span", "meta", "Sent"));
    if (from !== "agent") node.dataset.state = "sent";
    if (messageId != null) node.dataset.messageId = String(messageId);
    if (from === "agent" && messageId > lastAgentId) lastAgentId = messageId;
    log.append(node);
    scrollDown();
    return node;
  }

  function open(focus = true) {
    panel.hidden = false;
    unread.hidden = true;
    launcher.setAttribute("aria-expanded", "true");
    store.set("open", "1");
    if (!socket && ended.hidden) connect(); // an ended chat waits for "Start a new chat"
    scrollDown();
    if (focus) (prechat.hidden ? input : firstEmpty()).focus();
    reportSeen();
  }

  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    store.set("open", null);
    launcher.focus();
  }

  // --- the connection ---------------------------------------------------------------------
  let socket = null; // the current WebSocket, or null while waiting to reconnect
  let ready = false; // true once the hub has welcomed this socket
  let token = store.get("token");
  let attempts = 0;
  let retryTimer = 0;
  let typingTimer = 0;
  let lastTypingSent = 0; // 0 while the visitor is not typing
  let idleTimer = 0;
  let early = []; // agent messages that beat the welcome frame on this socket
  const pending = new Map(); // client id -> {text, node}: sent but not yet acknowledged
  const shown = new Set(); // hub message ids already in the log
  let asked = []; // what the company asks before the first message: "name", "email"
  let details = null; // what this visitor told us: {name, email}
  let wrote = false; // the visitor has written before: no pre-chat questions then
  let online = true; // an agent is online to answer
  let closed = null; // out of business hours: { opens: ISO time or null }, else null
  let canEmail = false; // the hub can answer by email
  let byEmail = false; // this conversation goes on by email
  let readUpTo = 0; // the newest of the visitor's messages the agent has seen
  let lastAgentId = 0; // the newest agent message shown
  let seenSent = 0; // the newest agent message we told the hub the visitor has seen
  let leaving = false; // the visitor ended the chat; the hub has not confirmed yet

  function stopTyping() {
    clearTimeout(idleTimer);
    if (!lastTypingSent) return;
    lastTypingSent = 0;
    if (ready) send({ type: "typing", on: false });
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  function sendMessage(id, text) {
    if (ready) send({ type: "message", id, text, inbox });
  }

  function connect() {
    clearTimeout(retryTimer);
    const ws = new WebSocket(socketUrl);
    socket = ws;
    ready = false;
    early = [];
    setStatus(attempts ? "Reconnecting\u2026" : "Connecting\u2026");
    ws.onopen = () => send(token ? { type: "hello", token, inbox } : { type: "hello", inbox });
    ws.onmessage = (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (ws === socket) receive(frame);
    };
    ws.onclose = (event) => {
      if (ws !== socket) return;
      socket = null;
      ready = false;
      // 4001: the hub forgot (or never issued) our session; start a fresh one at once.
      const backoff = Math.min(30000, 1000 * 2 ** attempts) * (0.5 + Math.random() / 2);
      attempts += 1;
      setStatus("Reconnecting\u2026");
      retryTimer = setTimeout(connect, event.code === 4001 ? 0 : backoff);
    };
  }

  function receive(frame) {
    if (frame.type === "welcome") welcome(frame);
    else if (frame.type === "ack") acknowledge(frame);
    else if (frame.type === "message" && frame.from === "agent") agentMessage(frame);
    else if (frame.type === "typing" && frame.from === "agent") agentTyping(frame.on !== false);
    else if (frame.type === "presence") { online = frame.online && !stillClosed(); showAway(); showPresence(); }
    else if (frame.type === "details") detailsTaken(frame);
    else if (frame.type === "read") { readUpTo = Math.max(readUpTo, frame.message_id); showReceipts(); }
    else if (frame.type === "left") left();
    else if (frame.type === "survey") showSurvey(frame);
    else if (frame.type === "rated") surveyDone(frame);
    else if (frame.type === "transcript_sent") copySent(frame);
    else if (frame.type === "error") failure(frame);
  }

  function welcome(frame) {
    token = frame.token;
    store.set("token", token);
    if (frame.max_text) input.maxLength = frame.max_text;
    ready = true;
    attempts = 0;
    showNotice("");
    // The transcript is the truth: rebuild the log from it, then put back what it lacks.
    log.replaceChildren(greeting);
    shown.clear();
    asked = frame.prechat || [];
    details = frame.details || null;
    online = frame.online !== false;
    canEmail = Boolean(frame.offline_email);
    closed = frame.closed || null;
    seenSent = 0;
    wrote = false; // a new session (the hub forgot the old token) starts over
    readUpTo = 0;
    for (const m of frame.messages || []) {
      if (m.from === "customer" && m.id && pending.has(m.id)) pending.delete(m.id); // stored, ack lost
      if (m.from === "customer") wrote = true;
      if (m.from === "customer" && m.read) readUpTo = Math.max(readUpTo, m.message_id);
      render(m.from, m.text, m.author, m.message_id);
    }
    showReceipts();
    showGate();
    showAway();
    showPresence();
    early.forEach(agentMessage);
    early = [];
    for (const [id, item] of pending) {
      log.append(item.node);
      sendMessage(id, item.text); // the hub dedupes by id, so a resend is harmless
    }
    scrollDown();
    reportSeen();
    if (leaving) { // asked while disconnected
      form.hidden = away.hidden = true;
      send({ type: "leave" });
    }
  }

  /** Pre-chat questions still owed: only before the visitor's first message. */
  function missingDetails() {
    if (wrote || pending.size) return [];
    return asked.filter((field) => !(details && details[field]));
  }

  function showGate() {
    const missing = missingDetails();
    nameLabel.hidden = !missing.includes("name");
    emailLabel.hidden = !missing.includes("email");
    const gated = missing.length > 0;
    const wasGated = !prechat.hidden;
    prechat.hidden = !gated;
    form.hidden = gated;
    log.hidden = gated && !log.querySelector(".msg");
    if (wasGated && !gated && !panel.hidden) input.focus();
  }

  function firstEmpty() {
    return !nameLabel.hidden && !nameInput.value.trim() ? nameInput : emailInput;
  }

  function showPresence() {
    if (ready) setStatus(online ? "We're online" : stillClosed() ? "We're closed" : "We're offline");
  }

  /** Out of business hours until the opening the hub named. */
  function stillClosed() {
    return Boolean(closed) && (!closed.opens || Date.now() < Date.parse(closed.opens));
  }

  /** "We're closed right now and open again Monday 09:00.", in the visitor's own time. */
  function closedText() {
    if (!closed.opens) return "We're closed right now.";
    const opens = new Date(closed.opens).toLocaleString([], {
      weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit",
    });
    return `We're closed right now and open again ${opens}.`;
  }

  /** Honest about nobody being online, and how the answer will come: one message for
   *  each state, standing in for the greeting (which promises an answer here). */
  function showAway() {
    const email = details && details.email;
    away.hidden = online && !byEmail;
    showGreeting();
    awayForm.hidden = true;
    if (byEmail) {
      awayText.textContent = `We'll reply by email to ${email || "you"}.`;
    } else if (!online && canEmail && email) {
      awayText.textContent = `No one is online right now. Write your message; we'll reply by email to ${email}.`;
    } else if (!online && canEmail && !prechat.hidden && asked.includes("email")) {
      awayText.textContent = "No one is online right now. Tell us who you are; we'll reply by email.";
    } else if (!online && canEmail) {
      awayText.textContent = "No one is online right now. Write your message and leave your email; we'll reply there.";
      awayForm.hidden = !prechat.hidden;
    } else if (!online) {
      awayText.textContent = "No one is online right now. Write your message; we'll answer here as soon as we can.";
    }
    if (stillClosed() && !byEmail) {
      awayText.textContent = awayText.textContent.replace("No one is online right now.", closedText());
    }
  }

  function detailsTaken(frame) {
    details = frame.details;
    byEmail = Boolean(frame.by_email);
    prechatError.textContent = "";
    awayError.textContent = "";
    awayEmail.value = "";
    showGate();
    showAway();
  }

  function sendDetails(fields, errorLine) {
    if (fields.email !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]{2,}$/.test(fields.email)) {
      errorLine.textContent = "Please enter a valid email address.";
      return;
    }
    if (fields.name !== undefined && !fields.name) {
      errorLine.textContent = "Please tell us your name.";
      return;
    }
    if (!ready) {
      errorLine.textContent = "Still connecting\u2026 please try again in a moment.";
      if (!socket) connect();
      return;
    }
    errorLine.textContent = "";
    send({ type: "details", ...fields });
  }

  /** Tell the hub the visitor has seen the agent's newest message (panel open, page shown). */
  function reportSeen() {
    if (!ready || panel.hidden || document.visibilityState !== "visible") return;
    if (lastAgentId > seenSent) {
      seenSent = lastAgentId;
      send({ type: "seen", message_id: lastAgentId });
    }
  }

  function acknowledge(frame) {
    const item = pending.get(frame.id);
    if (!item) return;
    pending.delete(frame.id);
    shown.add(frame.message_id);
    item.node.dataset.messageId = String(frame.message_id);
    mark(item.node, "sent");
    wrote = true;
    if (frame.online !== undefined) online = frame.online && !stillClosed();
    byEmail = byEmail || Boolean(frame.by_email);
    showReceipts();
    showAway();
    showPresence();
  }

  function agentMessage(frame) {
    if (!ready) { early.push(frame); return; }
    typing.hidden = true;
    const node = render("agent", frame.text, frame.author, frame.message_id);
    if (node && panel.hidden) unread.hidden = false;
    reportSeen();
  }

  function agentTyping(on) {
    typing.hidden = !on;
    clearTimeout(typingTimer);
    if (!on) return;
    typingTimer = setTimeout(() => { typing.hidden = true; }, TYPING_SHOWN_MS);
  }

  function failure(frame) {
    if (frame.code === "unknown_session") {
      token = null; // the hub closes the socket; the next hello starts over
      store.set("token", null);
      return;
    }
    const copyErrors = { invalid_email: 1, email_required: 1, no_chat: 1, transcript_unavailable: 1,
      rate_limited: 1 };
    if (copyAsked && frame.code in copyErrors) {
      copyAsked = false;
      copyError.textContent = frame.detail;
      return;
    }
    const formError = { invalid_email: 1, name_required: 1, email_required: 1, empty_details: 1 };
    if (frame.code in formError) {
      (prechat.hidden ? awayError : prechatError).textContent = frame.detail;
      return;
    }
    const item = frame.id && pending.get(frame.id);
    if (item) {
      pending.delete(frame.id);
      mark(item.node, "failed", frame.detail);
      if (frame.code === "details_required") { wrote = false; showGate(); }
    } else {
      showNotice(frame.detail || "Something went wrong.");
    }
  }

  // --- the rating card (sent once the agent closed the chat) --------------------------------
  const surveys = new Map(); // conversation id -> its card
  function showSurvey(frame) {
    if (surveys.has(frame.conversation_id)) return;
    const card = el("div", "rating", "", { role: "group", "aria-label": "Rate this chat" });
    const stars = el("div", "stars");
    let chosen = 0;
    for (let n = 1; n <= 5; n += 1) {
      const button = el("button", "", String(n), {
        type: "button", "aria-pressed": "false", "aria-label": `${n} of 5` });
      button.addEventListener("click", () => {
        chosen = n;
        for (const b of stars.children) b.setAttribute("aria-pressed", String(b === button));
        sendButton.disabled = false;
      });
      stars.append(button);
    }
    const comment = el("textarea", "", "", {
      "aria-label": "Comment (optional)", placeholder: "Comment (optional)", maxlength: "2000" });
    const sendButton = el("button", "send", "Send rating", { type: "button", disabled: "" });
    sendButton.addEventListener("click", () => {
      if (chosen) send({ type: "rating", conversation_id: frame.conversation_id, rating: chosen,
        comment: comment.value });
    });
    card.append(el("p", "", frame.question), stars, comment, sendButton);
    surveys.set(frame.conversation_id, card);
    log.append(card);
    scrollDown();
  }

  function surveyDone(frame) {
    const card = surveys.get(frame.conversation_id);
    if (card) card.replaceChildren(el("p", "", `Thank you for your rating (${frame.rating} of 5).`));
  }

  // --- a copy by email -----------------------------------------------------------------------
  function toggleCopy() {
    copy.hidden = !copy.hidden;
    copyButton.setAttribute("aria-expanded", String(!copy.hidden));
    if (copy.hidden) return;
    copyError.textContent = "";
    if (!copyEmail.value && details && details.email) copyEmail.value = details.email;
    copyEmail.focus();
  }

  function askForCopy() {
    const email = copyEmail.value.trim();
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]{2,}$/.test(email)) {
      copyError.textContent = "Please enter a valid email address.";
      return;
    }
    if (!ready) {
      copyError.textContent = "Still connecting\u2026 please try again in a moment.";
      if (!socket) connect();
      return;
    }
    copyError.textContent = "";
    copyAsked = true;
    send({ type: "transcript", email });
  }

  function copySent(frame) {
    copyAsked = false;
    copy.hidden = true;
    copyButton.setAttribute("aria-expanded", "false");
    log.append(el("p", "greeting", `A copy of this chat is on its way to ${frame.email}.`, {
      role: "status" }));
    log.scrollTop = log.scrollHeight;
  }

  // --- ending the chat ----------------------------------------------------------------------
  /** What ending now would throw away: a draft, or messages the hub has not stored yet. */
  function unsaved() {
    if (pending.size) return "Your last message has not been sent yet.";
    if (input.value.trim()) return "Your message has not been sent yet.";
    return "";
  }

  function askToEnd() {
    const loss = unsaved();
    if (!loss) { endChat(); return; }
    endingText.textContent = `${loss} End the chat anyway?`;
    ending.hidden = false;
    confirmEnd.focus();
  }

  function keepGoing() {
    ending.hidden = true;
    input.focus();
  }

  function endChat() {
    ending.hidden = true;
    leaving = true;
    pending.clear(); // the visitor chose to drop them
    input.value = "";
    stopTyping();
    form.hidden = true;
    typing.hidden = true;
    away.hidden = true;
    endButton.hidden = true;
    copyButton.hidden = true;
    copy.hidden = true;
    setStatus("Ending chat\u2026");
    if (ready) send({ type: "leave" });
    else if (!socket) connect(); // the welcome sends it
  }

  /** The hub ended it: forget this session, so the next chat starts afresh. */
  function left() {
    if (!leaving) return;
    leaving = false;
    const ws = socket;
    socket = null;
    ready = false;
    clearTimeout(retryTimer);
    if (ws) ws.close(1000);
    token = null;
    store.set("token", null);
    setStatus("");
    ended.hidden = false;
    showNotice("");
    newChat.focus();
  }

  function startOver() {
    ended.hidden = true;
    log.replaceChildren(greeting);
    shown.clear();
    wrote = false;
    details = null;
    byEmail = false;
    readUpTo = 0;
    lastAgentId = 0;
    form.hidden = false;
    attempts = 0;
    connect();
    scrollDown();
    input.focus();
  }

  // --- what the visitor does ----------------------------------------------------------------
  function submit() {
    const text = input.value.trim();
    if (!text) return;
    const id = newId();
    const node = render("customer", text, "", null);
    mark(node, "sending");
    pending.set(id, { text, node });
    input.value = "";
    stopTyping();
    showNotice("");
    if (!socket) connect();
    sendMessage(id, text);
  }

  launcher.addEventListener("click", () => (panel.hidden ? open() : close()));
  closeButton.addEventListener("click", close);
  endButton.addEventListener("click", askToEnd);
  copyButton.addEventListener("click", toggleCopy);
  copyForm.addEventListener("submit", (event) => { event.preventDefault(); askForCopy(); });
  confirmEnd.addEventListener("click", endChat);
  keepChatting.addEventListener("click", keepGoing);
  newChat.addEventListener("click", startOver);
  panel.addEventListener("keydown", (event) => { if (event.key === "Escape") close(); });
  form.addEventListener("submit", (event) => { event.preventDefault(); submit(); });
  prechatForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const fields = {};
    if (!nameLabel.hidden) fields.name = nameInput.value.trim();
    if (!emailLabel.hidden) fields.email = emailInput.value.trim();
    sendDetails(fields, prechatError);
  });
  awayForm.addEventListener("submit", (event) => {
    event.preventDefault();
    sendDetails({ email: awayEmail.value.trim() }, awayError);
  });
  document.addEventListener("visibilitychange", reportSeen);
  window.addEventListener("focus", reportSeen);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  input.addEventListener("input", () => {
    clearTimeout(idleTimer);
    if (!input.value.trim()) { stopTyping(); return; }
    idleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
    const now = Date.now();
    if (ready && now - lastTypingSent > TYPING_EVERY_MS) {
      lastTypingSent = now;
      send({ type: "typing", on: true });
    }
  });
  window.addEventListener("online", () => {
    if (!socket && ended.hidden && (token || !panel.hidden)) connect();
  });

  function mount() {
    document.body.append(host);
    if (store.get("open")) open(false); // restored, not asked for: leave the page's focus alone
    else if (token) connect(); // a conversation is under way: fetch it and hear replies
  }
  window.SwitchboardChat = { open, close };
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();

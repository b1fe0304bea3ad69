/* Switchboard web chat widget. A page embeds it with one tag:
 *   <script src="https://hub.example/chat/widget.js" data-inbox="web" data-title="Acme support" async></script>
 * It talks to the hub's /chat/ws (protocol in channels/webchat.py). No dependencies, no
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
  const TYPING_SHOWN_MS = 4000;

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
  const header = el("header");
  header.append(heading, closeButton);
  const greeting = el("p", "greeting", "Hi! Send us a message and a member of our team will reply here.");
  const log = el("div", "log", "", { role: "log", "aria-live": "polite" });
  log.append(greeting);
  const typing = el("div", "typing", "Agent is typing\u2026", { hidden: "" });
  const notice = el("div", "notice", "", { hidden: "" });
  const form = el("form");
  const input = el("textarea", "", "", { placeholder: "Write a message\u2026", "aria-label": "Message" });
  input.maxLength = 4000; // until the hub's welcome says otherwise
  form.append(input, el("button", "send", "Send", { type: "submit" }));
  panel.append(header, log, typing, notice, form);
  root.append(el("style", "", CSS), launcher, panel);

  function scrollDown() {
    greeting.hidden = log.querySelector(".msg") !== null;
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

  function render(from, text, author, messageId) {
    if (messageId != null && shown.has(messageId)) return null;
    if (messageId != null) shown.add(messageId);
    const node = el("div", `msg ${from === "agent" ? "agent" : "customer"}`);
    const body = el("span", "", text);
    if (from === "agent") node.append(el("span", "meta", author || "Support"), body);
    else node.append(body, el("span", "meta", "Sent"));
    if (from !== "agent") node.dataset.state = "sent";
    log.append(node);
    scrollDown();
    return node;
  }

  function open(focus = true) {
    panel.hidden = false;
    unread.hidden = true;
    launcher.setAttribute("aria-expanded", "true");
    store.set("open", "1");
    if (!socket) connect();
    scrollDown();
    if (focus) input.focus();
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
  let lastTypingSent = 0;
  let early = []; // agent messages that beat the welcome frame on this socket
  const pending = new Map(); // client id -> {text, node}: sent but not yet acknowledged
  const shown = new Set(); // hub message ids already in the log

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
    ws.onopen = () => send(token ? { type: "hello", token } : { type: "hello" });
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
    else if (frame.type === "typing" && frame.from === "agent") agentTyping();
    else if (frame.type === "error") failure(frame);
  }

  function welcome(frame) {
    token = frame.token;
    store.set("token", token);
    if (frame.max_text) input.maxLength = frame.max_text;
    ready = true;
    attempts = 0;
    setStatus("");
    showNotice("");
    // The transcript is the truth: rebuild the log from it, then put back what it lacks.
    log.replaceChildren(greeting);
    shown.clear();
    for (const m of frame.messages || []) {
      if (m.from === "customer" && m.id && pending.has(m.id)) pending.delete(m.id); // stored, ack lost
      render(m.from, m.text, m.author, m.message_id);
    }
    early.forEach(agentMessage);
    early = [];
    for (const [id, item] of pending) {
      log.append(item.node);
      sendMessage(id, item.text); // the hub dedupes by id, so a resend is harmless
    }
    scrollDown();
  }

  function acknowledge(frame) {
    const item = pending.get(frame.id);
    if (!item) return;
    pending.delete(frame.id);
    shown.add(frame.message_id);
    mark(item.node, "sent");
  }

  function agentMessage(frame) {
    if (!ready) { early.push(frame); return; }
    typing.hidden = true;
    const node = render("agent", frame.text, frame.author, frame.message_id);
    if (node && panel.hidden) unread.hidden = false;
  }

  function agentTyping() {
    typing.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { typing.hidden = true; }, TYPING_SHOWN_MS);
  }

  function failure(frame) {
    if (frame.code === "unknown_session") {
      token = null; // the hub closes the socket; the next hello starts over
      store.set("token", null);
      return;
    }
    const item = frame.id && pending.get(frame.id);
    if (item) {
      pending.delete(frame.id);
      mark(item.node, "failed", frame.detail);
    } else {
      showNotice(frame.detail || "Something went wrong.");
    }
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
    showNotice("");
    if (!socket) connect();
    sendMessage(id, text);
  }

  launcher.addEventListener("click", () => (panel.hidden ? open() : close()));
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", (event) => { if (event.key === "Escape") close(); });
  form.addEventListener("submit", (event) => { event.preventDefault(); submit(); });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  input.addEventListener("input", () => {
    const now = Date.now();
    if (ready && input.value.trim() && now - lastTypingSent > TYPING_EVERY_MS) {
      lastTypingSent = now;
      send({ type: "typing" });
    }
  });
  window.addEventListener("online", () => { if (!socket && (token || !panel.hidden)) connect(); });

  function mount() {
    document.body.append(host);
    if (store.get("open")) open(false); // restored, not asked for: leave the page's focus alone
    else if (token) connect(); // a conversation is under way: fetch it and hear replies
  }
  window.SwitchboardChat = { open, close };
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();

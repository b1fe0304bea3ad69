// Switchboard console, the live socket: it says that something happened; each panel
// re-reads what it shows. After a reconnect the page re-reads everything it could
// have missed. This file starts the page.
"use strict";

(() => {
  const { toast, get } = window.SwitchboardPage;
  const app = window.SwitchboardConsole;
  const { state } = app;
  const RECONNECT_MIN_MS = 500;
  const RECONNECT_MAX_MS = 15000;
  const PING_MS = 25000;

  const socket = { ws: null, attempt: 0, retry: null, ping: null };

  function connect() {
    clearTimeout(socket.retry);
    app.setConnection("connecting");
    const url = new URL("/console/ws", window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(url);
    socket.ws = ws;
    ws.addEventListener("open", () => {
      socket.attempt = 0;
      app.setConnection("live");
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
    app.setConnection("offline", delay);
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
    const since = app.changesSoFar();
    const [me, offers] = await Promise.all([get("/api/me"), get("/api/offers"), app.loadConversations()]);
    app.takeMe(me, since);
    // Offers announced while we were reading are newer than the list; keep them.
    const open = new Set(offers.map((o) => o.offer_id));
    for (const id of known) if (!open.has(id)) state.offers.delete(id);
    for (const offer of offers) app.addOffer(offer);
    app.renderOffers();
    if (state.openId !== null) {
      await app.reloadOpen();
    } else {
      const wanted = Number((window.location.hash.match(/^#conversation-(\d+)$/) || [])[1]);
      if (state.conversations.has(wanted)) await app.openConversation(wanted);
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
        app.renderMe();
        break;
      case "agent.state":
        if (state.me && event.agent_id === state.me.id) {
          state.me.status = event.status;
          state.me.away_reason = event.reason || null;
          app.renderMe();
          if (event.status === "offline") app.loadConversations().then(dropLostOpen).catch(() => {});
        }
        break;
      case "offer.created":
        app.addOffer(event, event.ts);
        break;
      case "offer.expired":
      case "offer.rejected":
      case "offer.withdrawn":
        app.dropOffer(event.offer_id);
        break;
      case "conversation.assigned":
        app.dropOffer(event.offer_id);
        app.loadConversations().catch(() => {});
        break;
      case "message.received":
        onMessageReceived(id);
        break;
      case "message.status":
      case "message.sent":
        if (id === state.openId) app.reloadOpen();
        else if (state.conversations.has(id)) app.refreshSummary(id);
        break;
      case "message.failed": // the thread shows it (message.status) where it is open
        if (id !== state.openId) toast(`A reply was not delivered: ${event.detail}`, "error");
        break;
      case "customer.typing":
        if (id === state.openId && state.open) (event.on === false ? app.hideTyping : app.showTyping)();
        break;
      case "conversation.closed":
        app.forgetConversation(id);
        if (id === state.openId) app.closeView(event.why || "This conversation was closed.");
        else if (event.why) toast(event.why);
        break;
      case "call.updated":
        if (event.ended) {
          document.dispatchEvent(new CustomEvent("switchboard:call-gone", { detail: { conversationId: id } }));
        }
        if (id === state.openId) app.reloadOpen();
        if (event.alert) toast(event.summary, "error");
        break;
      case "sla.breached":
        if (id === state.openId) app.reloadOpen();
        else if (state.conversations.has(id)) app.refreshSummary(id);
        break;
      case "conversation.reassigned":
        app.forgetConversation(id);
        if (id === state.openId) app.closeView("A supervisor reassigned this conversation.");
        break;
      default:
        break;
    }
  }

  /** Close the open conversation if it left my list (a supervisor moved my work). */
  function dropLostOpen() {
    if (state.openId !== null && !state.conversations.has(state.openId)) {
      app.closeView("Your conversations went back to the queue.");
    }
  }

  function onMessageReceived(id) {
    const entry = state.conversations.get(id);
    if (!entry) {
      app.loadConversations().catch(() => {});
      return;
    }
    if (id === state.openId) {
      app.hideTyping();
      app.reloadOpen();
      return;
    }
    entry.unread += 1;
    app.renderConversations();
    app.refreshSummary(id);
  }

  app.ready(() => {
    window.addEventListener("online", reconnectNow);
    document.addEventListener("visibilitychange", () => state.open && app.reportSeen(state.open));
    connect();
  });
})();

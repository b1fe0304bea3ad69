// Switchboard supervisor wallboard: queues, agents, today's satisfaction and routing
// decisions, live.
//
// The supervisor's socket /console/ws carries every queue and agent event; each one
// only says *that* something changed, and the board re-reads the figures over HTTP,
// at most twice a second whatever the event rate. Waits and time in state tick here,
// between reads. Customer names reach the page through textContent only.
"use strict";

(() => {
  const { $, h, show, initials, reconcile, toast, ApiError, api, get, post } = window.SwitchboardPage;
  const RECONNECT_MIN_MS = 500;
  const RECONNECT_MAX_MS = 15000;
  const PING_MS = 25000;
  const REFRESH_MS = 500;
  const TICK_MS = 1000;
  const RISK_READ_MS = 30000; // due times move with replies the board hears nothing of
  const DECISIONS_SHOWN = 12;
  const STATES = ["available", "away", "offline"];
  const LONG_WAIT_S = 60;
  const SUPERVISORS = ["supervisor", "admin"];
  const STATS_EVENTS = new Set([
    "contact.queued", "offer.created", "offer.expired", "offer.rejected",
    "conversation.assigned", "conversation.closed", "conversation.reassigned",
    "message.received", "agent.state", "csat.received",
  ]);
  const AGENT_EVENTS = new Set([
    "offer.created", "offer.expired", "offer.rejected", "conversation.assigned",
    "conversation.closed", "conversation.reassigned", "agent.state",
  ]);

  /** fn at most once per `ms`; calls in between collapse into one trailing run. */
  function throttle(fn, ms) {
    let last = 0;
    let timer = null;
    let running = false;
    let again = false;
    async function run() {
      timer = null;
      if (running) {
        again = true;
        return;
      }
      running = true;
      last = Date.now();
      try {
        await fn();
      } catch (error) {
        if (error.status !== 401) toast(`Could not refresh: ${error.message}`, "error");
      } finally {
        running = false;
        if (again) {
          again = false;
          schedule();
        }
      }
    }
    function schedule() {
      if (timer === null) timer = setTimeout(run, Math.max(0, last + ms - Date.now()));
    }
    return schedule;
  }

  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const hours = Math.floor(s / 3600);
    const minutes = Math.floor((s % 3600) / 60);
    const rest = String(s % 60).padStart(2, "0");
    return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
  }

  function percent(value) {
    return value === null || value === undefined ? "–" : `${Math.round(value * 100)} %`;
  }

  function clockTime(iso) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime())
      ? ""
      : date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  }

  // --- state ------------------------------------------------------------------

  const state = {
    me: null,
    stats: null,
    statsAt: 0, // our clock when the stats were read: waits tick on from there
    agents: [],
    decisions: [],
    atRisk: [], // conversations whose next SLA target turns amber soon, soonest due first
    clockOffset: 0, // server clock minus ours, from event timestamps
  };

  const serverNow = () => Date.now() + state.clockOffset;

  function agentName(id) {
    const agent = state.agents.find((a) => a.id === id);
    return agent ? agent.name : id === null || id === undefined ? "–" : `Agent ${id}`;
  }

  // --- queues and figures -----------------------------------------------------------

  async function readStats() {
    const today = new Date();
    today.setHours(0, 0, 0, 0); // since the supervisor's own midnight
    const [stats, outlook, csat] = await Promise.all([
      get("/api/supervisor/stats"),
      get("/api/supervisor/forecast"),
      get(`/api/supervisor/csat?by=queue&since=${encodeURIComponent(today.toISOString())}`),
    ]);
    state.stats = stats;
    state.statsAt = Date.now();
    renderStats();
    renderOutlook(outlook);
    renderCsat(csat);
  }

  // Today's ratings of the supervisor's team: the share of 4 and 5, the mean, per queue.
  function renderCsat(csat) {
    const average = (value) => (value === null || value === undefined ? "–" : value.toFixed(2));
    $("csat-share").textContent = percent(csat.total.csat);
    $("csat-average").textContent = average(csat.total.average);
    $("csat-answers").textContent = String(csat.total.answers);
    reconcile($("csat-queues"), csat.rows.map((row) => String(row.key)), (key, el) => {
      const row = csat.rows.find((r) => String(r.key) === key);
      if (!el) {
        el = h("tr", { class: "csat-line" },
          h("td", { class: "csat-queue" }),
          h("td", { class: "num csat-answers" }),
          h("td", { class: "num csat-share" }),
          h("td", { class: "num csat-average" }));
      }
      el.querySelector(".csat-queue").textContent = row.label;
      el.querySelector(".csat-answers").textContent = String(row.answers);
      el.querySelector(".csat-share").textContent = percent(row.csat);
      el.querySelector(".csat-average").textContent = average(row.average);
      return el;
    });
    show($("csat-empty"), csat.rows.length === 0);
  }

  // Which queues will miss their service level within the horizon, and what would hold it.
  function renderOutlook(outlook) {
    $("outlook-horizon").textContent = String(outlook.horizon_minutes);
    $("outlook").replaceChildren(
      ...outlook.warnings.map((w) =>
        h("li", { class: "outlook-warning", "data-queue": w.queue, "data-minutes": String(w.minutes) }, w.text)),
    );
    show($("outlook-calm"), outlook.warnings.length === 0);
  }

  function waitedNow(line) {
    return line.waiting ? line.longest_wait + (Date.now() - state.statsAt) / 1000 : 0;
  }

  function renderStats() {
    const stats = state.stats;
    if (!stats) return;
    const waiting = stats.lines.reduce((sum, line) => sum + line.waiting, 0);
    $("kpi-waiting").textContent = String(waiting);
    $("kpi-target").textContent = `answered within ${Math.round(stats.target_seconds)} s`;
    $("kpi-answered").textContent = `${stats.answered} answered · ${stats.abandoned} abandoned`;
    const level = $("kpi-service-level");
    level.textContent = percent(stats.service_level);
    level.dataset.level = stats.service_level === null ? "" : stats.service_level >= 0.8 ? "good" : stats.service_level >= 0.6 ? "warn" : "bad";
    $("kpi-asa").textContent = stats.average_speed_of_answer === null ? "–" : `${stats.average_speed_of_answer.toFixed(1)} s`;
    $("kpi-asa").title = "Average speed of answer over the last hour";
    $("kpi-abandon").textContent = percent(stats.abandon_rate);
    const staffed = stats.agents_by_state.available || 0;
    const needed = $("kpi-needed");
    needed.textContent = String(stats.agents_needed);
    needed.dataset.level = staffed >= stats.agents_needed ? "good" : "bad";
    $("kpi-staffed").textContent = `Erlang C · ${staffed} available`;
    reconcile($("queues"), stats.lines.map((line) => `${line.queue}/${line.channel}`), (key, el) => {
      const line = stats.lines.find((l) => `${l.queue}/${l.channel}` === key);
      if (!el) {
        el = h("tr", { class: "queue-line" },
          h("td", { class: "queue-name" }),
          h("td", {}, h("span", { class: "badge channel" })),
          h("td", { class: "num queue-waiting" }),
          h("td", { class: "num queue-longest" }));
      }
      el.querySelector(".queue-name").textContent = line.queue;
      el.querySelector(".channel").textContent = line.channel;
      el.querySelector(".queue-waiting").textContent = String(line.waiting);
      return el;
    });
    show($("queues-empty"), stats.lines.length === 0);
    tickWaits();
  }

  function tickWaits() {
    const stats = state.stats;
    if (!stats) return;
    let longest = 0;
    for (const el of $("queues").children) {
      const line = stats.lines.find((l) => `${l.queue}/${l.channel}` === el.dataset.key);
      if (!line) continue;
      const waited = waitedNow(line);
      longest = Math.max(longest, waited);
      el.querySelector(".queue-longest").textContent = duration(waited);
      el.dataset.long = String(waited >= LONG_WAIT_S);
    }
    $("kpi-longest").textContent = stats.lines.length ? duration(longest) : "–";
    $("kpi-longest").dataset.level = longest >= LONG_WAIT_S ? "bad" : "";
  }

  // --- agents -----------------------------------------------------------------------

  async function readAgents() {
    state.agents = await get("/api/supervisor/agents");
    renderAgents();
    renderDecisions();
  }

  function renderAgents() {
    $("agent-count").textContent = String(state.agents.length);
    reconcile($("agents"), state.agents.map((a) => a.id), (id, el) => agentRow(state.agents.find((a) => a.id === id), el));
    tickAgents();
  }

  function agentRow(agent, el) {
    if (!el) {
      const select = h("select", { class: "state-select", onchange: (event) => changeState(agent.id, event.target) },
        STATES.map((s) => h("option", { value: s }, s.charAt(0).toUpperCase() + s.slice(1))));
      el = h("tr", { class: "agent-row" },
        h("td", {}, h("span", { class: "agent-cell" },
          h("span", { class: "avatar", "aria-hidden": "true" }),
          h("span", { class: "agent-name" }),
          h("span", { class: "agent-role" }))),
        h("td", { class: "agent-state" }, select,
          h("span", { class: "badge away-reason", hidden: true }),
          h("span", { class: "badge wrapup-badge", hidden: true }, "wrap-up")),
        h("td", { class: "num agent-time" }),
        h("td", {}, h("div", { class: "loads agent-load" })),
        h("td", {}, h("div", { class: "held" })));
    }
    el.dataset.status = agent.status;
    el.querySelector(".avatar").textContent = initials(agent.name);
    el.querySelector(".agent-name").textContent = agent.name;
    el.querySelector(".agent-role").textContent = SUPERVISORS.includes(agent.role) ? agent.role : "";
    const select = el.querySelector(".state-select");
    select.setAttribute("aria-label", `State of ${agent.name}`);
    if (!select.disabled) select.value = agent.status;
    show(el.querySelector(".wrapup-badge"), Boolean(agent.wrap_up_until));
    const reason = el.querySelector(".away-reason");
    reason.textContent = agent.status === "away" ? agent.away_reason || "" : "";
    show(reason, Boolean(reason.textContent));
    // Only channels with work on them: an idle channel's capacity is noise on a wall.
    const busy = Object.keys(agent.load).filter((c) => agent.load[c] > 0).sort();
    const loads = busy.map((c) => {
      const capacity = agent.capacity[c] || 1;
      return h("span", { class: "load", dataset: { channel: c, full: String(agent.load[c] >= capacity) } },
        `${c} ${agent.load[c]}/${capacity}`);
    });
    if (!busy.length && agent.status !== "offline") loads.push(h("span", { class: "load-idle" }, "idle"));
    el.querySelector(".agent-load").replaceChildren(...loads);
    reconcile(el.querySelector(".held"), agent.conversations.map((c) => c.id), (cid, item) =>
      heldItem(agent, agent.conversations.find((c) => c.id === cid), item));
    return el;
  }

  function heldItem(agent, conversation, el) {
    const name = conversation.customer || "Unknown customer";
    if (!el) {
      el = h("div", { class: "held-item" },
        h("span", { class: "badge channel" }, conversation.channel),
        h("span", { class: "held-name" }),
        h("select", { class: "reassign-target" }),
        h("button", { type: "button", class: "secondary small", onclick: () => reassign(conversation.id, el) }, "Move"));
    }
    el.querySelector(".held-name").textContent = name;
    const select = el.querySelector(".reassign-target");
    select.setAttribute("aria-label", `Reassign ${name} to`);
    el.querySelector("button").setAttribute("aria-label", `Move ${name}`);
    if (document.activeElement !== select) {
      const chosen = select.value;
      const targets = state.agents.filter((a) => a.id !== agent.id && a.status === "available");
      select.replaceChildren(
        h("option", { value: "queue" }, "Back to queue"),
        ...targets.map((a) => h("option", { value: String(a.id) }, a.name)),
      );
      if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
    }
    return el;
  }

  function tickAgents() {
    const now = serverNow();
    for (const el of $("agents").children) {
      const agent = state.agents.find((a) => String(a.id) === el.dataset.key);
      if (!agent) continue;
      el.querySelector(".agent-time").textContent = duration((now - Date.parse(agent.status_since)) / 1000);
    }
  }

  async function changeState(agentId, select) {
    const status = select.value;
    const agent = state.agents.find((a) => a.id === agentId);
    select.disabled = true;
    try {
      const result = await post(`/api/supervisor/agents/${agentId}/status`, { status });
      const moved = result.requeued ? ` ${result.requeued} item(s) went back to the queue.` : "";
      toast(`${agent ? agent.name : "The agent"} is now ${status}.${moved}`);
    } catch (error) {
      toast(`Could not change the state: ${error.message}`, "error");
    } finally {
      select.disabled = false;
      refreshAgents();
    }
  }

  async function reassign(conversationId, el) {
    const target = el.querySelector(".reassign-target").value;
    const body = target === "queue" ? { queue: true } : { agent_id: Number(target) };
    const button = el.querySelector("button");
    button.disabled = true;
    try {
      const result = await post(`/api/supervisor/conversations/${conversationId}/reassign`, body);
      toast(result.outcome === "offered" ? `Offered to ${agentName(Number(target))}.` : "Back in the queue.");
    } catch (error) {
      toast(`Could not reassign: ${error.message}`, "error");
    } finally {
      button.disabled = false;
      refreshAgents();
      refreshStats();
    }
  }

  // --- routing decisions ---------------------------------------------------------------

  async function readDecisions() {
    state.decisions = (await get("/api/supervisor/routing")).slice(0, DECISIONS_SHOWN);
    renderDecisions();
  }

  function renderDecisions() {
    const list = $("decisions");
    list.replaceChildren(
      ...state.decisions.map((d) =>
        h("li", { class: "decision" },
          h("time", { datetime: d.at }, clockTime(d.at)),
          h("span", { class: "decision-conversation" }, `#${d.conversation_id}`),
          h("span", { class: "decision-agent" }, agentName(d.agent_id)),
          h("span", { class: "decision-reason", title: d.reason || "" }, d.reason || ""))),
    );
    show($("decisions-empty"), state.decisions.length === 0);
  }

  // --- SLA at risk -----------------------------------------------------------------

  const TARGET_NAMES = { first_response: "First response", next_response: "Next response", resolution: "Resolution" };

  async function readAtRisk() {
    state.atRisk = await get("/api/supervisor/sla-at-risk");
    renderAtRisk();
  }

  function riskState(item, now) {
    return item.breached || now >= Date.parse(item.due) ? "breached" : now >= Date.parse(item.warn) ? "warn" : "ok";
  }

  /** Those already amber or red; the rest wait off the board until their time comes. */
  function renderAtRisk() {
    const now = serverNow();
    const shown = state.atRisk.filter((item) => riskState(item, now) !== "ok");
    reconcile($("risk"), shown.map((item) => item.conversation_id), (id, el) => riskRow(shown.find((i) => i.conversation_id === id), el, now));
    $("risk-count").textContent = String(shown.length);
    show($("risk-empty"), shown.length === 0);
  }

  function riskRow(item, el, now) {
    if (!el) {
      el = h("tr", {},
        h("th", { scope: "row", class: "risk-customer" }),
        h("td", { class: "risk-queue" }),
        h("td", { class: "risk-agent" }),
        h("td", { class: "risk-kind" }),
        h("td", { class: "num risk-left" }));
    }
    const due = Date.parse(item.due);
    const seconds = Math.round(Math.abs(due - now) / 1000);
    el.dataset.state = riskState(item, now);
    el.querySelector(".risk-customer").textContent = item.customer;
    el.querySelector(".risk-queue").textContent = `${item.queue} · ${item.channel}`;
    el.querySelector(".risk-agent").textContent = item.agent || "waiting";
    el.querySelector(".risk-kind").textContent = TARGET_NAMES[item.kind] || item.kind;
    el.querySelector(".risk-left").textContent = now >= due ? `${duration(seconds)} over` : duration(seconds);
    return el;
  }

  const refreshStats = throttle(readStats, REFRESH_MS);
  const refreshAtRisk = throttle(readAtRisk, REFRESH_MS);
  const refreshAgents = throttle(readAgents, REFRESH_MS);
  const refreshDecisions = throttle(readDecisions, REFRESH_MS);

  // --- the live socket -------------------------------------------------------------

  const socket = { ws: null, attempt: 0, retry: null, ping: null };

  function setConnection(kind, detail) {
    $("connection").dataset.state = kind;
    $("connection-text").textContent = {
      connecting: "Connecting…",
      live: "Live",
      offline: `Reconnecting${detail ? ` in ${Math.ceil(detail / 1000)} s` : "…"}`,
    }[kind];
  }

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
      // Whatever happened while the socket was away, the next reads show it.
      refreshStats();
      refreshAgents();
      refreshDecisions();
      refreshAtRisk();
    });
    ws.addEventListener("message", (message) => {
      try {
        handleEvent(JSON.parse(message.data));
      } catch {
        // a frame we cannot read changes nothing
      }
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
    socket.retry = setTimeout(async () => {
      try {
        await get("/api/me"); // a 401 here means the session ended: api() goes to the login page
      } catch (error) {
        if (error.status === 401) return;
      }
      connect();
    }, delay);
  }

  function handleEvent(event) {
    if (event.ts) {
      const at = Date.parse(event.ts);
      if (!Number.isNaN(at)) state.clockOffset = at - Date.now();
    }
    if (event.type === "hello") {
      state.me = event.agent;
      $("agent-name").textContent = event.agent.display_name;
      $("agent-avatar").textContent = initials(event.agent.display_name);
      return;
    }
    if (event.type === "agent.state") {
      // Shown at once; the re-read below brings load and conversations along.
      const agent = state.agents.find((a) => a.id === event.agent_id);
      if (agent) {
        agent.status = event.status;
        agent.away_reason = event.reason || null;
        agent.status_since = event.ts || new Date(serverNow()).toISOString();
        renderAgents();
      }
    }
    if (STATS_EVENTS.has(event.type)) refreshStats();
    if (STATS_EVENTS.has(event.type) || event.type === "sla.breached") refreshAtRisk();
    if (AGENT_EVENTS.has(event.type)) refreshAgents();
    if (event.type === "offer.created") refreshDecisions();
  }

  function tick() {
    tickWaits();
    tickAgents();
    renderAtRisk();
  }

  function start() {
    setInterval(tick, TICK_MS);
    setInterval(refreshAtRisk, RISK_READ_MS);
    window.addEventListener("online", () => {
      if (!socket.ws || socket.ws.readyState > WebSocket.OPEN) connect();
    });
    connect();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

// Switchboard console, My conversations: the list of conversations assigned to me,
// each with its customer, latest message and unread count.
"use strict";

(() => {
  const { $, h, show, initials, reconcile, get } = window.SwitchboardPage;
  const app = window.SwitchboardConsole;
  const { state, coalesce, customerName, lastVisible, updateTitle } = app;

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
        state.conversations.set(summary.id, { summary, detail: null, unread: 0, calls: new AbortController() });
        refreshSummary(summary.id);
      }
    }
    for (const id of [...state.conversations.keys()]) {
      if (!seen.has(id)) drop(id);
    }
    renderConversations();
  }

  async function refreshSummary(id) {
    const entry = state.conversations.get(id);
    if (!entry) return;
    try {
      entry.detail = await get(`/api/conversations/${id}`, { signal: entry.calls.signal });
      renderConversations();
    } catch (error) {
      if (error.status === 404) forgetConversation(id);
    }
  }

  /** Drop a conversation from the list, calling off what was being read for it. */
  function drop(id) {
    const entry = state.conversations.get(id);
    if (entry) entry.calls.abort();
    state.conversations.delete(id);
  }

  function forgetConversation(id) {
    drop(id);
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
        h("button", { type: "button", class: "conversation-item", onclick: () => app.openConversation(id, { focus: true }) },
          h("span", { class: "item-top" },
            h("span", { class: "avatar", "aria-hidden": "true" }),
            h("span", { class: "item-name" }),
            h("span", { class: "unread" })),
          h("span", { class: "item-bottom" },
            h("span", { class: "badge channel" }),
            h("span", { class: "item-preview" })),
          app.slaTimer(null)));
    }
    app.setSlaTimer(el.querySelector(".sla-timer"), entry.detail ? entry.detail.sla : null);
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

  Object.assign(app, { loadConversations, refreshSummary, forgetConversation, renderConversations });
})();

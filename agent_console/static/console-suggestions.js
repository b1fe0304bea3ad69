// Switchboard console, Suggested articles: knowledge-base articles for the customer's
// latest message; the agent rates them or inserts a passage into the reply.
"use strict";

(() => {
  const { $, h, show, get, post } = window.SwitchboardPage;
  const app = window.SwitchboardConsole;
  const { state, lastIncoming } = app;
  let knowledgeQuery = null;

  async function loadKnowledge(detail) {
    const latest = lastIncoming(detail);
    const query = latest ? latest.text : "";
    if (query === knowledgeQuery) return;
    knowledgeQuery = query;
    if (!query) {
      renderSuggestions([], "");
      return;
    }
    try {
      const suggestions = await get(`/api/knowledge/search?q=${encodeURIComponent(query)}`, { signal: app.openSignal() });
      if (knowledgeQuery === query) renderSuggestions(suggestions, query);
    } catch (error) {
      if (knowledgeQuery !== query) return;
      if (app.aborted(error)) knowledgeQuery = null; // asked again when the conversation is
      else renderSuggestions([], query);
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
            }, thumb("up")),
            h("button", {
              type: "button",
              class: "secondary small",
              "aria-label": `Mark ${s.title} not helpful`,
              title: "Not helpful",
              onclick: (event) => giveVerdict(s, query, "unhelpful", event.currentTarget),
            }, thumb("down")),
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

  // Drawn by the page, not an emoji: a machine without an emoji font shows empty boxes.
  const SVG = "http://www.w3.org/2000/svg";
  const THUMB_UP = "M2 7h3v8H2zM6 15V7l3.5-6c1.2 0 2 .9 1.8 2.1L10.6 6H14c1.1 0 1.9 1 1.6 2l-1.5 5.6c-.2.8-.9 1.4-1.7 1.4z";

  function thumb(direction) {
    const icon = document.createElementNS(SVG, "svg");
    icon.setAttribute("viewBox", "0 0 16 16");
    icon.setAttribute("width", "14");
    icon.setAttribute("height", "14");
    icon.setAttribute("aria-hidden", "true");
    icon.setAttribute("class", `icon thumb-${direction}`);
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", THUMB_UP);
    path.setAttribute("fill", "currentColor");
    if (direction === "down") path.setAttribute("transform", "rotate(180 8 8)");
    icon.append(path);
    return icon;
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
    app.fitComposer();
  }

  function onConversation(event) {
    if (event.detail) {
      loadKnowledge(event.detail);
    } else {
      knowledgeQuery = null;
      renderSuggestions([], "");
    }
  }

  app.ready(() => {
    document.addEventListener("switchboard:conversation", onConversation);
    document.addEventListener("switchboard:leaving", () => {
      knowledgeQuery = null;
    });
  });
})();

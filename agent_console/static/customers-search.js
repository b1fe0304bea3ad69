// Switchboard customers page, the search panel: find customers (GET /api/customers) or
// words in conversations (GET /api/conversations/search), a page at a time. Picking a
// result announces it to the record panel:
//   switchboard:customer  detail: { id, conversationId? }
// Customer text reaches the page through textContent only; a snippet's hits become
// <mark> elements holding text.
"use strict";

(() => {
  const { $, h, show, get, initials } = window.SwitchboardPage;
  let mode = "customers";
  let nextCursor = null;
  let lastQuery = null;
  let sequence = 0;

  function queryOf(form) {
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(form)) {
      if (String(value).trim()) params.set(key, String(value).trim());
    }
    return params;
  }

  function announce(id, conversationId) {
    document.dispatchEvent(new CustomEvent("switchboard:customer", { detail: { id, conversationId } }));
    for (const el of $("results").children) {
      el.setAttribute("aria-current", String(el.dataset.customer === String(id)));
    }
  }

  function result(dataset, onPick, ...children) {
    const pick = () => onPick();
    return h("li", {
      class: "result",
      tabindex: "0",
      dataset,
      onclick: pick,
      onkeydown: (event) => { if (event.key === "Enter") pick(); },
    }, ...children);
  }

  function customerResult(customer) {
    const addresses = customer.addresses.map((a) => `${a.address}${a.opted_out ? " (opted out)" : ""}`);
    const facts = [customer.segment, customer.open_conversations ? `${customer.open_conversations} open` : null,
      customer.match ? `by ${customer.match}` : null].filter(Boolean);
    return result({ customer: customer.id }, () => announce(customer.id),
      h("div", { class: "result-name" }, customer.shown_as),
      h("div", { class: "result-meta" }, [...new Set(addresses)].join(" · ")),
      h("div", { class: "result-meta" }, facts.join(" · ")),
      customer.labels.length ? h("ul", { class: "labels" }, customer.labels.map((l) => h("li", {}, l))) : null);
  }

  function snippet(pieces) {
    return h("p", { class: "snippet" }, pieces.map((p) => (p.hit ? h("mark", {}, p.text) : p.text)));
  }

  function messageResult(hit) {
    const when = new Date(hit.at).toLocaleString();
    return result({ customer: hit.customer_id, message: hit.message_id },
      () => announce(hit.customer_id, hit.conversation_id),
      h("div", { class: "result-name" }, hit.customer_name || "Unknown customer"),
      h("div", { class: "result-meta" },
        `${hit.channel} · ${hit.queue} · ${hit.status} · ${hit.direction === "note" ? "note" : hit.direction} · ${when}`),
      snippet(hit.snippet));
  }

  async function search(more) {
    const form = mode === "customers" ? $("find-customers") : $("find-conversations");
    const params = more ? new URLSearchParams(lastQuery) : queryOf(form);
    if (more) params.set("cursor", nextCursor);
    else lastQuery = params.toString();
    const path = mode === "customers" ? "/api/customers" : "/api/conversations/search";
    const mine = ++sequence;
    $("search-error").textContent = "";
    try {
      const page = await get(`${path}?${params}`);
      if (mine !== sequence) return;
      const items = mode === "customers" ? page.customers.map(customerResult) : page.hits.map(messageResult);
      if (more) $("results").append(...items);
      else $("results").replaceChildren(...items);
      nextCursor = page.next_cursor;
      show($("more-results"), Boolean(nextCursor));
      show($("results-empty"), $("results").children.length === 0);
      $("results-empty").textContent = "Nothing found.";
    } catch (error) {
      if (mine === sequence) $("search-error").textContent = error.message;
    }
  }

  function switchTo(next) {
    mode = next;
    $("tab-customers").setAttribute("aria-selected", String(next === "customers"));
    $("tab-conversations").setAttribute("aria-selected", String(next === "conversations"));
    show($("find-customers"), next === "customers");
    show($("find-conversations"), next === "conversations");
    $("results").replaceChildren();
    show($("more-results"), false);
    show($("results-empty"), true);
    $("results-empty").textContent = next === "customers"
      ? "Search for a customer, or leave the box empty to list them."
      : "Search for words customers or agents wrote.";
  }

  document.addEventListener("DOMContentLoaded", async () => {
    $("find-customers").addEventListener("submit", (event) => { event.preventDefault(); search(false); });
    $("find-conversations").addEventListener("submit", (event) => { event.preventDefault(); search(false); });
    $("more-results").addEventListener("click", () => search(true));
    $("tab-customers").addEventListener("click", () => switchTo("customers"));
    $("tab-conversations").addEventListener("click", () => switchTo("conversations"));
    try {
      const attributes = await get("/api/customer-attributes");
      $("attribute-filter").append(...attributes.map((a) => h("option", { value: a.key }, a.label)));
      const me = await get("/api/me");
      show($("duplicates-link"), me.role === "supervisor" || me.role === "admin");
      $("agent-name").textContent = me.display_name;
      $("agent-avatar").textContent = initials(me.display_name);
    } catch (error) {
      $("search-error").textContent = error.message;
    }
    const wanted = new URLSearchParams(window.location.hash.slice(1)).get("customer");
    if (wanted) announce(Number(wanted));
  });
})();

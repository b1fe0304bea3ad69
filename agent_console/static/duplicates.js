// Switchboard duplicate review: the "possibly the same as" pairs (GET /api/customer-links),
// each with both customers' evidence side by side, and Merge / Not the same / Undo;
// Find duplicates (POST /api/customer-links/scan) adds the likely pairs found now.
// Customer text reaches the page through textContent only.
"use strict";

(() => {
  const { $, h, show, get, post, toast } = window.SwitchboardPage;
  let nextCursor = null;

  function side(title, customer) {
    const details = Object.entries(customer.details || {}).filter(([, v]) => v);
    return h("div", { class: "pair-side", dataset: { customer: customer.id } },
      h("h3", { class: "pair-title" }, title),
      h("a", { class: "pair-name", href: `/console/customers#customer=${customer.id}` }, customer.shown_as || "Unknown customer"),
      h("dl", { class: "record-attributes" },
        h("dt", {}, "Segment"), h("dd", {}, customer.segment),
        customer.external_id ? [h("dt", {}, "External id"), h("dd", {}, customer.external_id)] : null,
        customer.addresses.flatMap(([channel, address]) => [h("dt", {}, channel), h("dd", {}, address)]),
        details.flatMap(([key, value]) => [h("dt", {}, key.replace(/_/g, " ")), h("dd", {}, String(value))]),
        h("dt", {}, "Conversations"), h("dd", {}, String(customer.conversations)),
        h("dt", {}, "Since"), h("dd", {}, new Date(customer.created_at).toLocaleDateString())));
  }

  function pair(p) {
    const outcome = h("p", { class: "pair-outcome", role: "status" });
    const actions = h("div", { class: "past-actions" });
    const item = h("li", { class: "pair", dataset: { link: p.link_id } },
      h("p", { class: "pair-probability" }, `${Math.round(p.probability * 1000) / 10}% likely the same`),
      h("div", { class: "pair-sides" }, side("Newer", p.newer), side("Known first", p.known)),
      actions, outcome);

    async function decide(work) {
      for (const b of actions.querySelectorAll("button")) b.disabled = true;
      try {
        await work();
      } catch (error) {
        toast(error.message, "error");
        for (const b of actions.querySelectorAll("button")) b.disabled = false;
      }
    }

    function undecided() {
      outcome.textContent = "";
      actions.replaceChildren(
        h("button", { type: "button", class: "primary", onclick: () => decide(merge) }, "Merge"),
        h("button", { type: "button", class: "secondary", onclick: () => decide(dismiss) }, "Not the same"));
    }

    async function merge() {
      const done = await post(`/api/customer-links/${p.link_id}/merge`, {});
      outcome.textContent = `Merged into ${p.known.shown_as || `customer ${p.known.id}`}.`;
      actions.replaceChildren(
        h("button", { type: "button", class: "secondary", onclick: () => decide(() => undo(done.merge_id)) }, "Undo"));
    }

    async function undo(mergeId) {
      await post(`/api/merges/${mergeId}/undo`, {});
      toast("The two are separate again.");
      undecided();
    }

    async function dismiss() {
      await post(`/api/customer-links/${p.link_id}/dismiss`, {});
      outcome.textContent = "Marked as not the same person.";
      actions.replaceChildren();
    }

    undecided();
    return item;
  }

  async function load(more) {
    $("pairs-error").textContent = "";
    try {
      const page = await get(`/api/customer-links${more ? `?cursor=${encodeURIComponent(nextCursor)}` : ""}`);
      const items = page.pairs.map(pair);
      if (more) $("pairs").append(...items);
      else $("pairs").replaceChildren(...items);
      nextCursor = page.next_cursor;
      show($("more-pairs"), Boolean(nextCursor));
      show($("pairs-empty"), $("pairs").children.length === 0);
    } catch (error) {
      $("pairs-error").textContent = error.message;
    }
  }

  async function scan(event) {
    event.preventDefault();
    const button = $("scan-button");
    button.disabled = true;
    $("scan-error").textContent = "";
    $("scan-outcome").textContent = "Scoring every pair of customers…";
    try {
      const done = await post("/api/customer-links/scan", { min_probability: Number($("scan-min").value) });
      const skipped = done.skipped ? ` (${done.already_proposed} listed before, ${done.decided_apart} set apart by people)` : "";
      $("scan-outcome").textContent =
        `Scored ${done.scored} pairs: ${done.found} at or above ${done.min_probability}, ` +
        `${done.added} added, ${done.skipped} skipped${skipped}.`;
      await load(false);
    } catch (error) {
      $("scan-outcome").textContent = "";
      $("scan-error").textContent = error.message;
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("more-pairs").addEventListener("click", () => load(true));
    $("scan").addEventListener("submit", scan);
    load(false);
  });
})();

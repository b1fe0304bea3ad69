// Switchboard customers page, the record panel: the customer's page (GET
// /api/customers/{id}) with consent per address, conversations (opened read only),
// possible duplicates, the timeline paged back, notes, and editing the record with the
// custom attributes admins defined (one field per attribute, by its kind).
// It listens for switchboard:customer (detail: { id, conversationId? }).
"use strict";

(() => {
  const { $, h, show, get, post, api, toast } = window.SwitchboardPage;
  let customerId = null;
  let olderCursor = null;
  let sequence = 0;


  function when(iso) {
    return iso ? new Date(iso).toLocaleString() : "";
  }

  function event(e) {
    return h("li", { class: "timeline-event", dataset: { kind: e.kind } },
      h("div", { class: "timeline-head" },
        h("span", { class: "timeline-kind" }, e.label || e.kind),
        e.agent_name ? h("span", { class: "badge" }, e.agent_name) : null,
        h("time", { datetime: e.at }, when(e.at))),
      e.summary ? h("p", { class: "timeline-summary" }, e.summary) : null);
  }

  function shownValue(attribute) {
    if (attribute.value === null || attribute.value === undefined) return "—";
    if (attribute.kind === "boolean") return attribute.value ? "yes" : "no";
    return String(attribute.value);
  }

  /** The input for one attribute, by its kind; empty means no value. */
  function attributeInput(attribute) {
    const name = `attribute.${attribute.key}`;
    const value = attribute.value === null ? "" : attribute.value;
    if (attribute.kind === "boolean" || attribute.kind === "list") {
      const choices = attribute.kind === "boolean"
        ? [["true", "yes"], ["false", "no"]]
        : attribute.options.map((o) => [o, o]);
      const select = h("select", { name, dataset: { kind: attribute.kind } },
        h("option", { value: "" }, "—"),
        choices.map(([v, label]) => h("option", { value: v }, label)));
      select.value = String(value);
      return select;
    }
    const type = { number: "number", date: "date" }[attribute.kind] || "text";
    const input = h("input", { name, type, step: type === "number" ? "any" : null, dataset: { kind: attribute.kind } });
    input.value = String(value);
    return input;
  }

  function renderAttributes(attributes) {
    $("record-attributes").replaceChildren(...attributes.flatMap((a) => [
      h("dt", {}, a.label),
      h("dd", { dataset: { attribute: a.key } }, shownValue(a)),
    ]));
    const fieldset = $("edit-attributes");
    fieldset.replaceChildren(h("legend", {}, "Attributes"),
      ...attributes.map((a) => h("label", {}, `${a.label} `, attributeInput(a))));
    show(fieldset, attributes.length > 0);
  }

  function attributeValues(form) {
    const values = {};
    for (const el of form.querySelectorAll("[name^='attribute.']")) {
      const key = el.name.slice("attribute.".length);
      const raw = el.value.trim();
      if (!raw) values[key] = null;
      else if (el.dataset.kind === "number") values[key] = Number(raw);
      else if (el.dataset.kind === "boolean") values[key] = raw === "true";
      else values[key] = raw;
    }
    return values;
  }

  function render(record) {
    $("record-name").textContent = record.shown_as;
    $("record-segment").textContent = record.segment;
    $("record-segment").dataset.segment = record.segment;
    $("record-language").textContent = record.language || "";
    $("record-labels").replaceChildren(...record.labels.map((l) => h("li", {}, l)));
    show($("record-erased"), Boolean(record.erased_at));
    const form = $("edit-form");
    form.elements.name.value = record.name;
    form.elements.segment.value = record.segment;
    form.elements.language.value = record.language || "";
    form.elements.labels.value = record.labels.join(", ");
    renderAttributes(record.attributes);
    $("record-addresses").replaceChildren(...record.addresses.map((a) => h("li", { dataset: { channel: a.channel } },
      h("span", { class: "badge channel" }, a.channel), " ", a.address, " ",
      a.opted_out ? h("span", { class: "opted-out" }, `opted out ${when(a.opted_out_at)}`) : null)));
    $("record-duplicates").replaceChildren(...record.possible_duplicates.map((d) => h("li", {},
      h("button", { type: "button", class: "link-button", onclick: () => open(d.customer_id) }, d.name || "Unknown customer"),
      ` (${Math.round(d.probability * 100)}% likely)`)));
    show($("record-duplicates-empty"), record.possible_duplicates.length === 0);
    $("record-conversations").replaceChildren(...record.conversations.map((c) => h("li", { dataset: { conversation: c.id } },
      h("button", { type: "button", class: "link-button", onclick: () => openConversation(c.id) },
        c.subject || `Conversation ${c.id}`),
      ` · ${c.channel} · ${c.status}${c.agent_name ? ` · ${c.agent_name}` : ""} · ${when(c.updated_at)}`,
      c.labels.length ? h("ul", { class: "labels" }, c.labels.map((l) => h("li", {}, l))) : null)));
    show($("record-conversations-empty"), record.conversations.length === 0);
    $("record-timeline").replaceChildren(...record.timeline.events.map(event));
    olderCursor = record.timeline.next_cursor;
    show($("older-events"), Boolean(olderCursor));
    document.dispatchEvent(new CustomEvent("switchboard:record", { detail: record }));
  }

  async function open(id, conversationId) {
    const mine = ++sequence;
    customerId = id;
    try {
      const record = await get(`/api/customers/${id}`);
      if (mine !== sequence) return;
      show($("record-empty"), false);
      show($("record"), true);
      show($("past"), false);
      render(record);
      window.history.replaceState(null, "", `#customer=${id}`);
      if (conversationId) await openConversation(conversationId);
    } catch (error) {
      if (mine === sequence) toast(error.message, "error");
    }
  }

  const PAST = ["closed", "abandoned"];
  let pastId = null;

  async function openConversation(id) {
    try {
      const conversation = await get(`/api/conversations/${id}`);
      pastId = id;
      // Read only here: a past one can be reopened (back on the queue) or taken over,
      // one still waiting taken over; the hub decides whether this viewer may.
      show($("past-reopen"), PAST.includes(conversation.status));
      show($("past-take-over"), PAST.includes(conversation.status) || conversation.status === "queued");
      $("past-title").textContent = `${conversation.subject || `Conversation ${id}`} · ${conversation.channel} · ${conversation.status}`;
      $("past-messages").replaceChildren(...conversation.messages.map((m) =>
        h("li", { class: `message ${m.direction}`, dataset: { direction: m.direction } },
          h("p", { class: "message-text" }, m.text),
          h("time", { datetime: m.at }, when(m.at)))));
      show($("past"), true);
    } catch (error) {
      toast(error.status === 404 ? "That conversation is not one you may open." : error.message, "error");
    }
  }

  async function act(action, done) {
    try {
      await post(`/api/conversations/${pastId}/${action}`, {});
      toast(done);
      // Reopened, it is nobody's until routing offers it: an agent may no longer open it.
      await open(customerId, action === "take-over" ? pastId : undefined);
    } catch (error) {
      toast(error.message, "error");
    }
  }

  async function older() {
    const page = await get(`/api/customers/${customerId}/events?cursor=${encodeURIComponent(olderCursor)}`);
    $("record-timeline").append(...page.events.map(event));
    olderCursor = page.next_cursor;
    show($("older-events"), Boolean(olderCursor));
  }

  async function save(submit) {
    submit.preventDefault();
    const form = $("edit-form");
    const labels = form.elements.labels.value.split(",").map((l) => l.trim()).filter(Boolean);
    $("edit-error").textContent = "";
    try {
      await api("PATCH", `/api/customers/${customerId}`, {
        name: form.elements.name.value,
        segment: form.elements.segment.value || null,
        language: form.elements.language.value || null,
        labels,
        attributes: attributeValues(form),
      });
      $("record-edit").open = false;
      await open(customerId);
      toast("Saved.");
    } catch (error) {
      $("edit-error").textContent = error.message;
    }
  }

  async function addNote(submit) {
    submit.preventDefault();
    const text = $("note-text").value.trim();
    if (!text) return;
    try {
      const note = await post(`/api/customers/${customerId}/notes`, { text });
      $("note-text").value = "";
      $("record-timeline").prepend(event(note));
    } catch (error) {
      toast(error.message, "error");
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.addEventListener("switchboard:customer", (e) => open(e.detail.id, e.detail.conversationId));
    $("older-events").addEventListener("click", older);
    $("past-reopen").addEventListener("click", () => act("reopen", "Reopened: it is back in the queue."));
    $("past-take-over").addEventListener("click", () => act("take-over", "It is yours now: answer it from the console."));
    $("edit-form").addEventListener("submit", save);
    $("note-form").addEventListener("submit", addNote);
  });
})();

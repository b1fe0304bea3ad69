// Switchboard console, the Customer and Timeline panels: who the customer is, their
// addresses, and everything that happened with them on any channel.
"use strict";

(() => {
  const { $, h, show, reconcile, get } = window.SwitchboardPage;
  const app = window.SwitchboardConsole;
  const { state, dateTime } = app;

  function renderCustomer(customer) {
    show($("customer-empty"), !customer);
    show($("customer"), Boolean(customer));
    if (!customer) return;
    $("customer-name").textContent = customer.name || "Unknown customer";
    const segment = $("customer-segment");
    segment.textContent = customer.segment || "";
    segment.dataset.segment = customer.segment || "";
    $("customer-addresses").replaceChildren(
      ...customer.addresses.flatMap((a) => [h("dt", {}, a.channel), h("dd", {}, a.address)]),
    );
  }


  let timelineSequence = 0;
  async function loadTimeline(customerId) {
    const sequence = ++timelineSequence;
    try {
      const events = await get(`/api/customers/${customerId}/timeline`, { signal: app.openSignal() });
      if (sequence === timelineSequence && state.open && state.open.customer.id === customerId) renderTimeline(events);
    } catch (error) {
      if (sequence === timelineSequence && !app.aborted(error)) renderTimeline([]);
    }
  }

  function renderTimeline(events) {
    reconcile($("timeline"), events.map((e) => e.id), (id, el) => {
      if (el) return el; // a timeline event never changes
      const event = events.find((e) => e.id === id);
      const channel = event.data && event.data.channel;
      return h("li", { class: "timeline-event", dataset: { kind: event.kind } },
        h("div", { class: "timeline-head" },
          h("span", { class: "timeline-kind" }, event.label || event.kind),
          channel ? h("span", { class: "badge channel" }, channel) : null,
          h("time", { datetime: event.at }, dateTime(event.at))),
        event.summary ? h("p", { class: "timeline-summary" }, event.summary) : null,
        event.data && event.data.reason ? h("p", { class: "timeline-reason" }, event.data.reason) : null);
    });
    show($("timeline-empty"), events.length === 0);
  }

  function onConversation(event) {
    const detail = event.detail;
    renderCustomer(detail ? detail.customer : null);
    if (detail) loadTimeline(detail.customer.id);
    else renderTimeline([]);
  }

  app.ready(() => {
    document.addEventListener("switchboard:conversation", onConversation);
    document.addEventListener("switchboard:leaving", () => $("timeline").replaceChildren());
  });
})();

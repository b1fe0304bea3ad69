// Switchboard customers page, the "New message" panel: an agent starts an email or a
// text to the customer in view (GET /api/customers/{id}/outreach lists the channels,
// the customer's addresses there, opted-out ones marked, and the inboxes to send from;
// POST /api/customers/{id}/conversations sends). The new conversation is the agent's.
// It listens for switchboard:customer (detail: { id }).
"use strict";

(() => {
  const { $, h, show, get, post, toast } = window.SwitchboardPage;
  let customerId = null;
  let channels = [];

  function chosen() {
    const form = $("outreach-form");
    return channels.find((c) => c.channel === form.elements.channel.value) || channels[0];
  }

  function fill() {
    const form = $("outreach-form");
    const channel = chosen();
    if (!channel) return;
    form.elements.address.replaceChildren(...channel.addresses.map((a) =>
      h("option", { value: a.address, disabled: a.opted_out }, a.opted_out ? `${a.address} (opted out)` : a.address)));
    form.elements.inbox_id.replaceChildren(...channel.inboxes.map((i) =>
      h("option", { value: String(i.id) }, i.name ? `${i.name} <${i.address}>` : i.address)));
    const subject = form.querySelector("[data-needs=subject]");
    show(subject, channel.needs_subject);
    form.querySelectorAll("[data-needs=copies]").forEach((label) => show(label, channel.copies));
    form.elements.subject.required = channel.needs_subject;
  }

  async function load(id) {
    customerId = id;
    $("outreach-error").textContent = "";
    try {
      const options = await get(`/api/customers/${id}/outreach`);
      if (options.customer_id !== customerId) return;
      channels = options.channels.filter((c) => c.addresses.length && c.inboxes.length);
    } catch {
      channels = [];
    }
    const form = $("outreach-form");
    form.elements.channel.replaceChildren(...channels.map((c) => h("option", { value: c.channel }, c.label)));
    show(form, channels.length > 0);
    show($("outreach-none"), channels.length === 0);
    fill();
  }

  async function send(submit) {
    submit.preventDefault();
    const form = $("outreach-form");
    const channel = chosen();
    const body = {
      channel: channel.channel,
      address: form.elements.address.value,
      inbox_id: Number(form.elements.inbox_id.value),
      text: form.elements.text.value,
    };
    if (channel.needs_subject) body.subject = form.elements.subject.value;
    if (channel.copies) {
      const list = (name) => form.elements[name].value.split(/[,;]/).map((a) => a.trim()).filter(Boolean);
      Object.assign(body, { cc: list("cc"), bcc: list("bcc") });
    }
    $("outreach-error").textContent = "";
    try {
      const started = await post(`/api/customers/${customerId}/conversations`, body);
      form.reset();
      $("outreach").open = false;
      toast(started.delivery_status === "failed" ? "Started, but the message was not delivered." : "Sent. The conversation is yours in the console.");
      document.dispatchEvent(new CustomEvent("switchboard:customer", { detail: { id: customerId } }));
    } catch (error) {
      $("outreach-error").textContent = error.message;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.addEventListener("switchboard:customer", (e) => load(e.detail.id));
    $("outreach-form").elements.channel.addEventListener("change", fill);
    $("outreach-form").addEventListener("submit", send);
  });
})();

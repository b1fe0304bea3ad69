// Switchboard customers page, click to call: a Call button by each of the customer's
// phone numbers (not those that opted out). POST /api/voice/outbound checks the number
// may be called and answers the parameters the softphone (phone.js) dials with; the
// call leaves from the hub's voice number and goes on the customer's timeline.
// It listens for switchboard:record (detail: the record shown).
"use strict";

(() => {
  const { $, h, post, toast } = window.SwitchboardPage;
  const PHONE_CHANNELS = new Set(["voice", "sms"]);

  async function call(customerId, address, button) {
    button.disabled = true;
    try {
      const allowed = await post("/api/voice/outbound", { customer_id: customerId, address });
      await window.SwitchboardPhone.dial(allowed.params, { label: `Calling ${address}` });
    } catch (error) {
      toast(error.message, "error");
    } finally {
      button.disabled = false;
    }
  }

  let shown = null; // the record on the page
  let ready = false; // the softphone started (it has a token)

  function addButtons(record) {
    shown = record;
    if (!ready) return; // no softphone (yet, or on this hub)
    for (const old of $("record-addresses").querySelectorAll(".call-button")) old.remove();
    const seen = new Set();
    for (const item of $("record-addresses").children) {
      const address = record.addresses[[...item.parentNode.children].indexOf(item)];
      if (!address || !PHONE_CHANNELS.has(address.channel) || address.opted_out) continue;
      if (seen.has(address.address)) continue; // a number on both voice and SMS: one button
      seen.add(address.address);
      item.append(" ", h("button", { type: "button", class: "secondary small call-button",
        "aria-label": `Call ${address.address}`,
        onclick: (click) => call(record.id, address.address, click.currentTarget) }, "Call"));
    }
  }

  document.addEventListener("switchboard:record", (event) => addButtons(event.detail));
  window.SwitchboardPhone.start().then((device) => {
    ready = Boolean(device);
    if (ready && shown) addButtons(shown);
  });
})();

// Switchboard console, the softphone (phone.js): registered for the agent's calls. A
// call is offered like any contact: its offer rings in the Offers panel, and accepting
// it has the hub put the caller through to this browser, where the call is answered at
// once. A call that comes without an offer (a customer calling again while the agent
// holds their conversation) rings here as its own card: Answer or Decline. A caller
// taken back from hold rings again and is answered at once. After the call, the
// conversation it belongs to opens its wrap-up form.
"use strict";

(() => {
  const { $, h, show } = window.SwitchboardPage;
  const app = window.SwitchboardConsole;
  const softphone = window.SwitchboardPhone;
  const EXPECT_MS = 60000; // the hub puts the caller through within seconds of the accept
  let expected = null; // { conversationId, until }: a voice offer this agent accepted
  let ringing = null; // a call with no offer, waiting for Answer or Decline

  function offerAccepted(event) {
    const { conversationId, channel } = event.detail;
    if (channel === "voice") expected = { conversationId, until: Date.now() + EXPECT_MS };
  }

  function incoming(call) {
    if (softphone.state.call) {
      call.reject(); // one call at a time; the caller goes back to the hub's voicemail
      return;
    }
    const from = (call.parameters && call.parameters.From) || "a caller";
    if (softphone.state.resuming !== null) { // the caller, back from hold
      const conversationId = softphone.state.resuming;
      call.accept();
      softphone.attach(call, { conversationId, label: `On a call with ${from}` });
      return;
    }
    if (expected && expected.until > Date.now()) {
      const { conversationId } = expected;
      expected = null;
      call.accept();
      softphone.attach(call, { conversationId, label: `On a call with ${from}` });
      return;
    }
    ring(call, from);
  }

  function ring(call, from) {
    ringing = call;
    const card = $("call-offer");
    card.querySelector(".offer-name").textContent = from;
    show(card, true);
    $("offers").dataset.callRinging = "true";
    const gone = () => {
      if (ringing === call) stopRinging();
    };
    for (const name of ["cancel", "disconnect", "reject", "error"]) call.on(name, gone);
  }

  function stopRinging() {
    ringing = null;
    show($("call-offer"), false);
    delete $("offers").dataset.callRinging;
  }

  function answer() {
    const call = ringing;
    if (!call) return;
    stopRinging();
    call.accept();
    const from = (call.parameters && call.parameters.From) || "a caller";
    softphone.attach(call, { conversationId: app.state.openId, label: `On a call with ${from}` });
  }

  function decline() {
    const call = ringing;
    if (!call) return;
    stopRinging();
    call.reject();
  }

  async function wrapUp(event) {
    const { conversationId } = event.detail;
    if (conversationId === null || !app.state.conversations.has(conversationId)) return;
    if (app.state.openId !== conversationId) await app.openConversation(conversationId, { focus: true });
    if ($("wrapup").hidden) $("wrapup-toggle").click();
  }

  app.ready(async () => {
    $("offers").before(h("div", { id: "call-offer", class: "offer call-offer", hidden: true, role: "group", "aria-label": "Incoming call" },
      h("div", { class: "offer-head" },
        h("span", { class: "badge channel" }, "call"),
        h("strong", { class: "offer-name" })),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "primary", onclick: answer }, "Answer"),
        h("button", { type: "button", class: "secondary", onclick: decline }, "Decline"))));
    document.addEventListener("switchboard:offer-accepted", offerAccepted);
    document.addEventListener("switchboard:call-ended", wrapUp);
    const device = await softphone.start({ register: true });
    if (device) device.on("incoming", incoming);
  });
})();

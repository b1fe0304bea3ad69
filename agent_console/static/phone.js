// Switchboard softphone: Twilio's Voice SDK (vendor/twilio-voice.min.js, window.Twilio)
// with the hub's access token (GET /api/voice/token), and the in-call bar: mute, keypad,
// hang up. The console registers it for incoming calls (console-phone.js); the
// customers page only places calls (customers-call.js). Hold plays the caller music
// (POST /api/voice/conversations/{id}/hold), which ends this browser's leg; Resume has
// the hub ring this browser again, and console-phone.js answers it. What it uses of the SDK is
// listed in vendor/twilio-voice-api.json, which the tests hold the vendored SDK to.
// Events on document:
//   switchboard:call-ended   detail: { conversationId } (null for a call not tied to one)
"use strict";

window.SwitchboardPhone = (() => {
  const { $, h, show, get, post, toast } = window.SwitchboardPage;
  const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
  const phone = {
    device: null, call: null, conversationId: null, starting: null, ringNumber: null,
    held: null, // the conversation whose caller is on hold (or being put there)
    resuming: null, // the conversation whose caller is being put back through to us
  };

  /** The Device, made once with a fresh token; null where the hub has no softphone. */
  function start({ register = false } = {}) {
    if (!phone.starting) phone.starting = open(register);
    return phone.starting;
  }

  async function open(register) {
    if (!window.Twilio || !window.Twilio.Device) return null;
    let grant;
    try {
      if (!(await get("/api/me")).softphone) return null; // the hub has no softphone
      grant = await get("/api/voice/token");
    } catch (error) {
      if (error.status !== 404) toast(`The phone is not available: ${error.message}`, "error");
      return null; // 404: the hub has no softphone configured
    }
    phone.ringNumber = grant.ring_number;
    const device = new window.Twilio.Device(grant.token, { closeProtection: true });
    device.on("tokenWillExpire", async () => {
      try {
        device.updateToken((await get("/api/voice/token")).token);
      } catch (error) {
        toast(`The phone could not renew its token: ${error.message}`, "error");
      }
    });
    device.on("error", (error) => toast(`Phone: ${error.message || error}`, "error"));
    phone.device = device;
    window.addEventListener("pagehide", () => device.destroy()); // no calls to a page that is gone
    // An agent whose calls ring their own phone does not take them in the browser.
    if (register && !grant.ring_number) await device.register();
    document.body.dataset.phone = register && !grant.ring_number ? "registered" : "ready";
    return device;
  }

  /** Show the in-call bar for `call` until it ends. */
  function attach(call, { conversationId = null, label = "On a call" } = {}) {
    phone.call = call;
    phone.conversationId = conversationId;
    phone.held = null;
    phone.resuming = null;
    const bar = ensureBar();
    bar.querySelector(".phone-status").textContent = label;
    renderMute();
    renderHold();
    show(bar.querySelector(".phone-keypad"), false);
    show(bar, true);
    const ended = () => finish(call);
    for (const name of ["disconnect", "cancel", "reject", "error"]) call.on(name, ended);
  }

  function finish(call) {
    if (phone.call !== call) return;
    phone.call = null;
    if (phone.held !== null) return; // Twilio ended our leg: the caller hears hold music
    const conversationId = phone.conversationId;
    phone.conversationId = null;
    show(ensureBar(), false);
    document.dispatchEvent(new CustomEvent("switchboard:call-ended", { detail: { conversationId } }));
  }

  /** The customer's call is over (the hub heard Twilio say so): a caller who hung up
   *  while on hold leaves nothing to resume, so the bar goes and the wrap-up follows. */
  function gone(conversationId) {
    if (phone.call !== null || phone.held !== conversationId) return;
    phone.held = null;
    phone.resuming = null;
    phone.conversationId = null;
    show(ensureBar(), false);
    document.dispatchEvent(new CustomEvent("switchboard:call-ended", { detail: { conversationId } }));
  }
  document.addEventListener("switchboard:call-gone", (event) => gone(event.detail.conversationId));

  /** Call a customer's number: the parameters POST /api/voice/outbound answered with. */
  async function dial(params, { label } = {}) {
    const device = await start();
    if (!device) throw new Error("The phone is not configured on this hub.");
    if (phone.call) throw new Error("You are on a call already.");
    const call = await device.connect({ params });
    attach(call, { label: label || `Calling ${params.To}` });
    return call;
  }

  async function toggleHold() {
    const conversationId = phone.conversationId;
    if (conversationId === null) return;
    const on = phone.held === null;
    if (on) phone.held = conversationId;
    else phone.resuming = conversationId;
    try {
      await post(`/api/voice/conversations/${conversationId}/hold`, { on });
      if (!on) phone.held = null;
    } catch (error) {
      if (on) phone.held = null;
      else phone.resuming = null;
      toast(error.message, "error");
    }
    renderHold();
  }

  function renderHold() {
    const bar = ensureBar();
    const button = bar.querySelector(".phone-hold");
    show(button, phone.conversationId !== null);
    const held = phone.held !== null;
    button.textContent = held ? "Resume" : "Hold";
    button.setAttribute("aria-pressed", String(held));
    if (held) bar.querySelector(".phone-status").textContent = "On hold";
    else if (phone.resuming !== null) bar.querySelector(".phone-status").textContent = "Taking the caller back…";
    for (const other of bar.querySelectorAll(".phone-mute, .phone-keypad-toggle, .phone-hangup")) other.disabled = held;
  }

  function renderMute() {
    const button = ensureBar().querySelector(".phone-mute");
    const muted = Boolean(phone.call && phone.call.isMuted());
    button.setAttribute("aria-pressed", String(muted));
    button.textContent = muted ? "Unmute" : "Mute";
  }

  function ensureBar() {
    let bar = $("phone-bar");
    if (bar) return bar;
    bar = h("section", { id: "phone-bar", class: "phone-bar", "aria-label": "Call", hidden: true },
      h("p", { class: "phone-status", role: "status" }),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "secondary phone-mute", "aria-pressed": "false", onclick: () => {
          if (!phone.call) return;
          phone.call.mute(!phone.call.isMuted());
          renderMute();
        } }, "Mute"),
        h("button", { type: "button", class: "secondary phone-hold", "aria-pressed": "false", onclick: toggleHold }, "Hold"),
        h("button", { type: "button", class: "secondary phone-keypad-toggle", onclick: () => {
          const pad = bar.querySelector(".phone-keypad");
          show(pad, pad.hidden);
        } }, "Keypad"),
        h("button", { type: "button", class: "danger phone-hangup", onclick: () => phone.call && phone.call.disconnect() }, "Hang up")),
      h("div", { class: "phone-keypad", role: "group", "aria-label": "Keypad", hidden: true },
        KEYS.map((key) => h("button", { type: "button", class: "secondary", "aria-label": `Key ${key}`,
          onclick: () => phone.call && phone.call.sendDigits(key) }, key))));
    document.body.append(bar);
    return bar;
  }

  return { start, attach, dial, state: phone };
})();

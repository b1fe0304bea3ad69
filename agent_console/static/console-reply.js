// Switchboard console, the reply box: sending a reply or a private note, and telling
// the customer while I type. composer.js adds canned responses and the reply channel.
"use strict";

(() => {
  const { $, post } = window.SwitchboardPage;
  const app = window.SwitchboardConsole;
  const { state } = app;
  const TYPING_SEND_MS = 3000;
  const TYPING_IDLE_MS = 5000; // no keystroke for this long: I stopped typing

  let sending = false;

  async function submitText(kind) {
    const box = $("reply");
    const text = box.value.trim();
    const id = state.openId;
    if (!text || sending || id === null) return;
    sending = true;
    $("composer").setAttribute("aria-busy", "true");
    $("composer-error").textContent = "";
    let sent = false;
    try {
      const body = { text };
      const via = $("reply-channel").value; // another channel the customer can be reached on
      if (kind === "reply" && via && state.open && via !== state.open.reply_channel) body.channel = via;
      if (kind === "reply" && !$("copies").hidden) Object.assign(body, copies());
      const answer = await post(`/api/conversations/${id}/${kind}`, body);
      sent = true;
      if (answer && answer.delivery_status === "failed") {
        $("composer-error").textContent = "Your reply was not delivered: the reason is under it in the thread.";
      }
      if (state.openId === id) {
        box.value = "";
        if (kind === "reply") clearCopies();
        fitComposer();
      }
    } catch (error) {
      $("composer-error").textContent = error.message;
    } finally {
      sending = false;
      $("composer").removeAttribute("aria-busy");
    }
    // Sent is done: the next reply may go while the thread re-reads (an Enter pressed
    // meanwhile would otherwise be dropped without a word).
    if (sent) await app.reloadOpen();
  }

  /** The CC and BCC fields as lists of addresses (commas or semicolons between them). */
  function copies() {
    const list = (id) => $(id).value.split(/[,;]/).map((a) => a.trim()).filter(Boolean);
    return { cc: list("reply-cc"), bcc: list("reply-bcc") };
  }

  function clearCopies() {
    $("reply-cc").value = "";
    $("reply-bcc").value = "";
  }

  function onComposerKey(event) {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    submitText("reply");
  }

  let lastTypingSent = 0; // 0 while I am not typing
  let typingIdle = null;
  function onComposerInput() {
    fitComposer();
    clearTimeout(typingIdle);
    if (state.openId === null) return;
    if (!$("reply").value.trim()) return stopTyping();
    typingIdle = setTimeout(stopTyping, TYPING_IDLE_MS);
    const now = Date.now();
    if (now - lastTypingSent < TYPING_SEND_MS) return;
    lastTypingSent = now;
    post(`/api/conversations/${state.openId}/typing`, { on: true }).catch(() => {});
  }

  /** The customer's "Agent is typing" goes at once, not 30 s later. */
  function stopTyping() {
    clearTimeout(typingIdle);
    if (!lastTypingSent || state.openId === null) return;
    lastTypingSent = 0;
    post(`/api/conversations/${state.openId}/typing`, { on: false }).catch(() => {});
  }

  function fitComposer() {
    const box = $("reply");
    box.style.height = "auto";
    box.style.height = `${Math.min(box.scrollHeight + 2, 220)}px`;
  }

  function onLeaving() {
    $("reply").value = "";
    clearCopies();
    $("composer-error").textContent = "";
  }

  Object.assign(app, { fitComposer });

  app.ready(() => {
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      submitText("reply");
    });
    $("reply").addEventListener("keydown", onComposerKey);
    $("reply").addEventListener("input", onComposerInput);
    $("note-button").addEventListener("click", () => submitText("note"));
    document.addEventListener("switchboard:leaving", onLeaving);
  });
})();

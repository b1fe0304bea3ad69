// Switchboard console, possible duplicates: customers the hub thinks may be the one in
// view, in the customer panel; one click merges (and can be undone).
"use strict";

(() => {
  const { $, h, toast, get, post } = window.SwitchboardPage;
  const app = window.SwitchboardConsole;
  const { state } = app;

  let possibleSequence = 0;
  let lastMerge = null; // { mergeId, survivorId }: offered for undo until the next one
  async function loadPossible(customerId) {
    const sequence = ++possibleSequence;
    let matches = [];
    try {
      matches = await get(`/api/customers/${customerId}/possible`, { signal: app.openSignal() });
    } catch (error) {
      if (app.aborted(error)) return;
      matches = [];
    }
    if (sequence !== possibleSequence || !state.open || state.open.customer.id !== customerId) return;
    const children = matches.map(renderPossible);
    if (lastMerge && lastMerge.survivorId === customerId) children.unshift(undoNotice(lastMerge.mergeId));
    possibleBox().replaceChildren(...children);
  }

  function undoNotice(mergeId) {
    return h("p", { class: "possible-done" }, "Merged: both histories are kept. ",
      h("button", { type: "button", class: "secondary", onclick: () => undoMerge(mergeId) }, "Undo merge"));
  }

  function possibleBox() {
    let box = $("customer-possible");
    if (!box) {
      box = h("div", { id: "customer-possible", class: "possible", "aria-live": "polite" });
      $("customer").append(box);
    }
    return box;
  }

  function renderPossible(match) {
    const other = match.customer;
    return h("div", { class: "possible-match", dataset: { link: match.link_id } },
      h("p", {}, "Possibly the same as ", h("strong", {}, other.name || `customer #${other.id}`),
        ` (${Math.round(match.probability * 100)} %)`),
      h("dl", { class: "addresses" },
        ...other.addresses.flatMap((a) => [h("dt", {}, a.channel), h("dd", {}, a.address)])),
      h("button", { type: "button", class: "merge", onclick: () => mergePossible(match) }, "Merge"),
      " ",
      h("button", { type: "button", class: "secondary", onclick: () => dismissPossible(match) }, "Not the same"));
  }

  async function mergePossible(match) {
    let done;
    try {
      done = await post(`/api/customer-links/${match.link_id}/merge`);
    } catch (error) {
      toast(error.message, "error");
      return;
    }
    lastMerge = { mergeId: done.merge_id, survivorId: done.survivor_id };
    possibleBox().replaceChildren(undoNotice(done.merge_id));
    toast("Customers merged.");
    app.reloadOpen();
  }

  async function dismissPossible(match) {
    try {
      await post(`/api/customer-links/${match.link_id}/dismiss`);
    } catch (error) {
      toast(error.message, "error");
      return;
    }
    if (state.open) loadPossible(state.open.customer.id);
  }

  async function undoMerge(mergeId) {
    try {
      await post(`/api/merges/${mergeId}/undo`);
    } catch (error) {
      toast(error.message, "error");
      return;
    }
    lastMerge = null;
    toast("Merge undone.");
    app.reloadOpen();
  }

  function onConversation(event) {
    if (event.detail) loadPossible(event.detail.customer.id);
  }

  app.ready(() => document.addEventListener("switchboard:conversation", onConversation));
})();

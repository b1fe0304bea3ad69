// Switchboard console, the reply box's helpers: canned responses picked with `/`, and
// the channel a reply goes out on (a missed call answered by SMS, a chat by email).
//
// console.js announces the conversation in view with a "switchboard:conversation"
// event; this file never touches the conversation itself. Canned texts come filled
// in by the hub for that conversation, and reach the page only through textContent
// or the textarea's value.
"use strict";

(() => {
  const { $, h, show, get } = window.SwitchboardPage;
  const SLASH = /(?:^|\s)\/([\w-]{0,32})$/;

  const picker = {
    conversation: null, // the conversation in view, as GET /api/conversations/{id} returns it
    responses: [], // canned responses filled for that conversation
    loading: null,
    open: false,
    query: "",
    start: -1, // where the `/shortcut` being typed begins in the reply box
    matches: [],
    active: 0,
  };

  function onConversation(event) {
    const detail = event.detail;
    const switched = !detail || !picker.conversation || picker.conversation.id !== detail.id;
    if (switched) closePicker();
    picker.conversation = detail;
    named.then(() => renderChannels(detail, switched));
  }

  // --- the reply channel ----------------------------------------------------------

  // What the reply box calls each channel ("SMS", "Call"), from the hub's list.
  const channelNames = {};
  const copying = new Set(); // channels whose messages take CC and BCC (email)
  const named = get("/api/channels")
    .then((channels) => channels.forEach((c) => {
      channelNames[c.name] = c.reply_label;
      if (c.copies) copying.add(c.name);
    }))
    .catch(() => {}); // the raw names will do

  /** The channels this customer can be answered on; the conversation's own one first. */
  function renderChannels(detail, switched) {
    const select = $("reply-channel");
    const before = switched ? null : select.value;
    const own = detail ? detail.reply_channel : null;
    const others = detail ? (detail.reply_channels || []).filter((c) => c.channel !== own) : [];
    select.replaceChildren(
      ...(own ? [h("option", { value: own }, `${channelNames[own] || own} (this conversation)`)] : []),
      ...others.map((c) =>
        h("option", { value: c.channel, disabled: c.opted_out },
          `${channelNames[c.channel] || c.channel} · ${c.address}${c.opted_out ? " (opted out)" : ""}`)),
    );
    const keep = [...select.options].find((o) => o.value === before && !o.disabled);
    select.value = keep ? before : own || "";
    show($("reply-channel-field"), others.length > 0);
    showCopies();
  }

  /** CC and BCC fields while the reply goes out on a channel that takes them. */
  function showCopies() {
    const via = $("reply-channel").value || (picker.conversation && picker.conversation.reply_channel);
    show($("copies"), copying.has(via));
  }

  async function loadResponses() {
    const id = picker.conversation && picker.conversation.id;
    if (!id) return [];
    const responses = await get(`/api/canned-responses?conversation_id=${id}`);
    if (picker.conversation && picker.conversation.id === id) picker.responses = responses;
    return picker.responses;
  }

  function matching(query) {
    const q = query.toLowerCase();
    const scored = picker.responses
      .map((r) => {
        const shortcut = r.shortcut.toLowerCase();
        if (shortcut.startsWith(q)) return [0, r];
        if (shortcut.includes(q) || r.title.toLowerCase().includes(q)) return [1, r];
        return null;
      })
      .filter(Boolean);
    scored.sort((a, b) => a[0] - b[0] || a[1].shortcut.localeCompare(b[1].shortcut));
    return scored.map(([, r]) => r);
  }

  async function openPicker(query, start) {
    const first = !picker.open;
    picker.open = true;
    picker.query = query;
    picker.start = start;
    $("reply").setAttribute("aria-expanded", "true");
    $("canned-button").setAttribute("aria-expanded", "true");
    if (first) {
      picker.active = 0;
      renderPicker(); // at once, with what we have; then with the latest list
      picker.loading = loadResponses().catch(() => picker.responses);
      await picker.loading;
      if (!picker.open) return;
    }
    renderPicker();
  }

  function closePicker() {
    picker.open = false;
    picker.start = -1;
    show($("canned"), false);
    $("reply").setAttribute("aria-expanded", "false");
    $("reply").removeAttribute("aria-activedescendant");
    $("canned-button").setAttribute("aria-expanded", "false");
  }

  function renderPicker() {
    const list = $("canned");
    const previous = picker.matches[picker.active];
    picker.matches = matching(picker.query);
    const kept = previous ? picker.matches.indexOf(previous) : -1;
    picker.active = kept >= 0 ? kept : Math.min(picker.active, Math.max(0, picker.matches.length - 1));
    list.replaceChildren(
      ...picker.matches.map((r, index) =>
        h("li", {
          id: `canned-option-${r.id}`,
          class: "canned-option",
          role: "option",
          "aria-selected": String(index === picker.active),
          onmousedown: (event) => event.preventDefault(), // keep the caret in the reply box
          onclick: () => choose(r),
        },
        h("span", { class: "canned-head" },
          h("strong", { class: "canned-shortcut" }, `/${r.shortcut}`),
          h("span", { class: "canned-title" }, r.title)),
        h("span", { class: "canned-preview" }, r.text ?? r.body))),
    );
    if (!picker.matches.length) {
      list.append(h("li", { class: "canned-empty" },
        picker.responses.length ? `No canned response matches /${picker.query}.` : "No canned responses yet."));
    }
    show(list, true);
    const active = picker.matches[picker.active];
    if (active) {
      $("reply").setAttribute("aria-activedescendant", `canned-option-${active.id}`);
      const el = document.getElementById(`canned-option-${active.id}`);
      if (el) el.scrollIntoView({ block: "nearest" });
    } else {
      $("reply").removeAttribute("aria-activedescendant");
    }
  }

  function choose(response) {
    const box = $("reply");
    const end = box.selectionEnd;
    const start = picker.start >= 0 && picker.start <= end ? picker.start : end;
    closePicker();
    box.setRangeText(response.text ?? response.body, start, end, "end");
    box.focus();
    box.dispatchEvent(new Event("input", { bubbles: true })); // the console fits the box to it
  }

  /** After each change in the reply box: a `/word` right before the caret opens the list. */
  function onInput() {
    const box = $("reply");
    if (box.selectionStart !== box.selectionEnd) {
      closePicker();
      return;
    }
    const before = box.value.slice(0, box.selectionStart);
    const found = before.match(SLASH);
    if (!found) {
      if (picker.open) closePicker();
      return;
    }
    openPicker(found[1], box.selectionStart - found[1].length - 1);
  }

  // Registered on the form while capturing, so an open list gets Enter before the console sends.
  function onKey(event) {
    if (!picker.open || event.target !== $("reply") || event.isComposing) return;
    const count = picker.matches.length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (count) picker.active = (picker.active + (event.key === "ArrowDown" ? 1 : count - 1)) % count;
      renderPicker();
    } else if (event.key === "Enter" || event.key === "Tab") {
      if (!count) {
        if (event.key === "Tab") return;
        closePicker();
        return; // Enter with nothing to pick sends, as it always does
      }
      choose(picker.matches[picker.active]);
    } else if (event.key === "Escape") {
      closePicker();
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  }

  function onButton() {
    const box = $("reply");
    if (box.disabled) return;
    if (picker.open) {
      closePicker();
      box.focus();
      return;
    }
    const at = box.selectionStart;
    const before = box.value.slice(0, at);
    const slash = before && !/\s$/.test(before) ? " /" : "/";
    box.focus();
    box.setRangeText(slash, at, box.selectionEnd, "end");
    openPicker("", box.selectionStart - 1);
  }

  function start() {
    document.addEventListener("switchboard:conversation", onConversation);
    $("composer").addEventListener("keydown", onKey, true);
    $("reply").addEventListener("input", onInput);
    $("reply").addEventListener("blur", () => setTimeout(() => {
      if (document.activeElement !== $("reply")) closePicker();
    }, 150));
    $("canned-button").addEventListener("click", onButton);
    $("reply-channel").addEventListener("change", showCopies);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

// Switchboard console pages: the small helpers both the agent console and the
// wallboard use. Customer text only ever reaches the page through textContent.
"use strict";

window.SwitchboardPage = (() => {
  const $ = (id) => document.getElementById(id);

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  /** An element with attributes and children; strings always become text nodes. */
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "text") el.textContent = value;
      else if (key === "dataset") Object.assign(el.dataset, value);
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) el.append(child);
    }
    return el;
  }

  function show(el, visible) {
    el.hidden = !visible;
  }

  function initials(name) {
    const letters = name.trim().split(/\s+/).map((part) => part.charAt(0));
    return (letters[0] || "?").concat(letters.length > 1 ? letters[letters.length - 1] : "").toUpperCase();
  }

  let toastTimer = null;
  function toast(message, kind = "info") {
    const el = $("toast");
    el.textContent = message;
    el.dataset.kind = kind;
    show(el, true);
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => show(el, false), 4000);
  }

  /** A JSON call to the hub; `signal` lets the page call it off (it then rejects with an AbortError). */
  async function api(method, path, body, { signal } = {}) {
    const init = { method, signal, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body || {});
    }
    const response = await fetch(path, init);
    if (response.status === 401) {
      window.location.assign("/console/login");
      throw new ApiError(401, "Your session has ended; sign in again.");
    }
    const isJson = (response.headers.get("Content-Type") || "").includes("application/json");
    const data = isJson ? await response.json() : null;
    if (!response.ok) {
      throw new ApiError(response.status, (data && data.error) || `The hub answered ${response.status}.`);
    }
    return data;
  }

  /** Put one element per key in the container, in order, reusing those it already has
   *  (and keeping the focus where it was, so a live update never steals the caret). */
  function reconcile(container, keys, build) {
    const focused = document.activeElement;
    const existing = new Map([...container.children].map((el) => [el.dataset.key, el]));
    let previous = null;
    for (const key of keys) {
      const el = build(key, existing.get(String(key)) || null);
      el.dataset.key = String(key);
      existing.delete(String(key));
      const slot = previous ? previous.nextElementSibling : container.firstElementChild;
      if (el !== slot) container.insertBefore(el, slot);
      previous = el;
    }
    for (const el of existing.values()) el.remove();
    if (focused && focused !== document.activeElement && focused.isConnected) focused.focus();
  }

  // Buttons marked data-until-ready mean only what a page's scripts give them: they stay
  // disabled until every deferred script has run (its DOMContentLoaded work included), so
  // a click on a page still loading is not silently lost.
  document.addEventListener("DOMContentLoaded", () => setTimeout(() => {
    for (const button of document.querySelectorAll("button[data-until-ready]")) {
      button.removeAttribute("data-until-ready");
      button.disabled = false;
    }
  }));

  const get = (path, options) => api("GET", path, undefined, options);
  const post = (path, body) => api("POST", path, body);

  return Object.freeze({ $, h, show, initials, reconcile, toast, ApiError, api, get, post });
})();

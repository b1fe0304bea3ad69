// Switchboard settings, SLA policies: admins add, change and remove the targets
// conversations are held to (GET, POST, PUT and DELETE /api/admin/sla-policies).
// Targets are typed in minutes and stored in seconds. Names reach the page as text.
"use strict";

(() => {
  const { $, h, show, toast, api, get, post } = window.SwitchboardPage;
  const TARGETS = [["first_response", "sla-first", "First response"], ["next_response", "sla-next", "Next response"], ["resolution", "sla-resolution", "Resolution"]];
  let editing = null; // the policy being changed, or null when adding

  function minutes(seconds) {
    return seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
  }

  function conditions(p) {
    const parts = [["queue", p.queue], ["channel", p.channel], ["priority", p.priority], ["segment", p.segment]]
      .filter(([, value]) => value !== null).map(([name, value]) => `${name} ${value}`);
    return parts.length ? parts.join(", ") : "every conversation";
  }

  function targets(p) {
    const parts = TARGETS.filter(([key]) => p[key] !== null).map(([key, , label]) => `${label} ${minutes(p[key])}`);
    return `${parts.join(" · ")}${p.business_hours ? " (business hours)" : ""}`;
  }

  function render(policies) {
    $("sla-list").replaceChildren(...policies.map((p) =>
      h("tr", { dataset: { policy: String(p.id) } },
        h("th", { scope: "row" }, p.name),
        h("td", {}, conditions(p)),
        h("td", {}, targets(p)),
        h("td", { class: "cell-actions" },
          h("button", { type: "button", class: "secondary small", "aria-label": `Edit ${p.name}`, onclick: () => edit(p) }, "Edit"),
          h("button", { type: "button", class: "ghost small", "aria-label": `Remove ${p.name}`, onclick: () => remove(p) }, "Remove")))));
  }

  async function reload() {
    render(await get("/api/admin/sla-policies"));
  }

  function edit(p) {
    editing = p;
    $("sla-form-title").textContent = p ? `Edit ${p.name}` : "Add SLA policy";
    $("sla-name").value = p ? p.name : "";
    $("sla-queue").value = p && p.queue !== null ? p.queue : "";
    $("sla-channel").value = p && p.channel !== null ? p.channel : "";
    $("sla-priority").value = p && p.priority !== null ? String(p.priority) : "";
    $("sla-segment").value = p && p.segment !== null ? p.segment : "";
    for (const [key, id] of TARGETS) $(id).value = p && p[key] !== null ? String(p[key] / 60) : "";
    $("sla-warn").value = String(Math.round((p ? p.warn_at : 0.75) * 100));
    $("sla-business").checked = p ? p.business_hours : true;
    $("sla-error").textContent = "";
    show($("sla-form"), true);
    $("sla-name").focus();
  }

  function close() {
    editing = null;
    show($("sla-form"), false);
  }

  function text(id) {
    const value = $(id).value.trim();
    return value === "" ? null : value;
  }

  function body() {
    const priority = text("sla-priority");
    const policy = {
      name: $("sla-name").value,
      queue: text("sla-queue"),
      channel: text("sla-channel"),
      priority: priority === null ? null : Number(priority),
      segment: text("sla-segment"),
      warn_at: Number($("sla-warn").value) / 100,
      business_hours: $("sla-business").checked,
    };
    for (const [key, id] of TARGETS) {
      const value = text(id);
      policy[key] = value === null ? null : Math.round(Number(value) * 60);
    }
    return policy;
  }

  async function save(event) {
    event.preventDefault();
    try {
      if (editing) await api("PUT", `/api/admin/sla-policies/${editing.id}`, body());
      else await post("/api/admin/sla-policies", body());
      close();
      toast("SLA policy saved.");
      await reload();
    } catch (error) {
      $("sla-error").textContent = error.message;
    }
  }

  async function remove(p) {
    try {
      await api("DELETE", `/api/admin/sla-policies/${p.id}`);
      toast(`${p.name} removed.`);
      await reload();
    } catch (error) {
      toast(error.message, "error");
    }
  }

  function start() {
    $("sla-add").addEventListener("click", () => edit(null));
    $("sla-form").addEventListener("submit", save);
    $("sla-form").querySelector("[data-cancel]").addEventListener("click", close);
    $("sla-form").addEventListener("keydown", (event) => {
      if (event.key === "Escape") close();
    });
    reload().catch((error) => toast(`Could not load the SLA policies: ${error.message}`, "error"));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

// Switchboard settings: outbound webhooks, their deliveries, and sending one again.
// URLs and errors come from admins and receivers: shown with textContent only.
"use strict";

(() => {
  const { $, h, show, toast, api, get, post } = window.SwitchboardPage;
  let types = [];
  let viewing = null; // the webhook whose deliveries are shown
  let cursor = null;

  function answerText(delivery) {
    if (delivery.last_status_code) return String(delivery.last_status_code);
    return delivery.last_error || "—";
  }

  function row(webhook) {
    const toggle = webhook.active ? "Pause" : "Resume";
    return h("tr", { dataset: { webhook: String(webhook.id) } },
      h("td", {}, webhook.url, webhook.description ? h("div", { class: "hint" }, webhook.description) : null),
      h("td", {}, webhook.event_types.join(", ")),
      h("td", {}, String(webhook.pending)),
      h("td", {}, String(webhook.failed)),
      h("td", {}, webhook.active ? "Active" : "Paused"),
      h("td", { class: "cell-actions" },
        h("button", { type: "button", class: "ghost", onclick: () => openLog(webhook) }, "Deliveries"),
        h("button", { type: "button", class: "ghost", onclick: () => setActive(webhook, !webhook.active) }, toggle)));
  }

  function deliveryRow(delivery) {
    return h("tr", { dataset: { delivery: String(delivery.id) } },
      h("td", {}, delivery.event_type),
      h("td", {}, delivery.customer_id === null ? "—" : String(delivery.customer_id)),
      h("td", {}, delivery.status),
      h("td", {}, String(delivery.attempts)),
      h("td", {}, answerText(delivery)),
      h("td", {}, new Date(delivery.created_at).toLocaleString()),
      h("td", { class: "cell-actions" },
        h("button", { type: "button", class: "ghost", onclick: () => redeliver(delivery) }, "Send again")));
  }

  async function reload() {
    const webhooks = await get("/api/admin/webhooks");
    $("webhooks").replaceChildren(...webhooks.map(row));
  }

  async function openLog(webhook, more = false) {
    viewing = webhook;
    const query = more && cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
    try {
      const page = await get(`/api/admin/webhooks/${webhook.id}/deliveries${query}`);
      $("webhook-log-title").textContent = `Deliveries to ${webhook.url}`;
      const rows = page.deliveries.map(deliveryRow);
      if (more) $("webhook-deliveries").append(...rows);
      else $("webhook-deliveries").replaceChildren(...rows);
      cursor = page.next_cursor;
      show($("webhook-log-more"), Boolean(cursor));
      show($("webhook-log"), true);
    } catch (error) {
      toast(`Could not read the deliveries: ${error.message}`, "error");
    }
  }

  async function redeliver(delivery) {
    try {
      await post(`/api/admin/webhook-deliveries/${delivery.id}/redeliver`, {});
      toast("The delivery will be sent again.");
      if (viewing) await openLog(viewing);
      await reload();
    } catch (error) {
      toast(`Could not send it again: ${error.message}`, "error");
    }
  }

  async function setActive(webhook, active) {
    try {
      await api("PATCH", `/api/admin/webhooks/${webhook.id}`, { active });
      await reload();
    } catch (error) {
      toast(`Could not change the webhook: ${error.message}`, "error");
    }
  }

  async function save(event) {
    event.preventDefault();
    const chosen = types.filter((type) => $(`webhook-type-${type}`).checked);
    const body = {
      url: $("webhook-url").value.trim(),
      description: $("webhook-description").value.trim(),
      event_types: chosen,
    };
    try {
      const created = await post("/api/admin/webhooks", body);
      show($("webhook-form"), false);
      $("webhook-secret-value").textContent = created.secret;
      show($("webhook-secret"), true);
      await reload();
    } catch (error) {
      $("webhook-error").textContent = error.message;
    }
  }

  function openForm() {
    $("webhook-form").reset();
    $("webhook-error").textContent = "";
    show($("webhook-secret"), false);
    show($("webhook-form"), true);
    $("webhook-url").focus();
  }

  async function start() {
    $("webhook-add").addEventListener("click", openForm);
    $("webhook-form").addEventListener("submit", save);
    $("webhook-form").querySelector("[data-cancel]").addEventListener("click", () => show($("webhook-form"), false));
    $("webhook-log-more").addEventListener("click", () => viewing && openLog(viewing, true));
    try {
      types = (await get("/api/admin/webhook-events")).event_types;
      $("webhook-types").replaceChildren(...types.map((type) =>
        h("label", { class: "check" }, h("input", { id: `webhook-type-${type}`, type: "checkbox", value: type }), ` ${type}`)));
      await reload();
    } catch (error) {
      toast(`Could not load the webhooks: ${error.message}`, "error");
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

// Switchboard settings, customer attributes: admins add, rename and remove the typed
// fields every customer record has (GET /api/customer-attributes, POST, PATCH and
// DELETE /api/admin/customer-attributes). Labels and options reach the page as text.
"use strict";

(() => {
  const { $, h, show, toast, api, get, post } = window.SwitchboardPage;
  const KIND_NAMES = { text: "Text", number: "Number", date: "Date", boolean: "Yes / no", list: "List" };
  let editing = null; // the attribute being edited, or null when adding

  function options(text) {
    return text.split(",").map((o) => o.trim()).filter(Boolean);
  }

  function render(attributes) {
    $("attribute-list").replaceChildren(...attributes.map((a) =>
      h("tr", { dataset: { attribute: a.key } },
        h("th", { scope: "row" }, a.label),
        h("td", {}, h("code", {}, a.key)),
        h("td", {}, KIND_NAMES[a.kind] || a.kind),
        h("td", { class: "cell-text" }, a.options.join(", ")),
        h("td", { class: "cell-actions" },
          h("button", { type: "button", class: "secondary small", "aria-label": `Edit ${a.label}`, onclick: () => edit(a) }, "Edit"),
          h("button", { type: "button", class: "ghost small", "aria-label": `Remove ${a.label}`, onclick: () => removeAttribute(a) }, "Remove")))));
  }

  async function reload() {
    render(await get("/api/customer-attributes"));
  }

  function edit(attribute) {
    editing = attribute;
    $("attribute-form-title").textContent = attribute ? `Edit ${attribute.label}` : "Add attribute";
    $("attribute-label").value = attribute ? attribute.label : "";
    $("attribute-key").value = attribute ? attribute.key : "";
    $("attribute-kind").value = attribute ? attribute.kind : "text";
    $("attribute-options").value = attribute ? attribute.options.join(", ") : "";
    // The key and kind stay as created: values already given were checked against them.
    $("attribute-key").readOnly = Boolean(attribute);
    $("attribute-kind").disabled = Boolean(attribute);
    $("attribute-error").textContent = "";
    show($("attribute-form"), true);
    $("attribute-label").focus();
  }

  function close() {
    editing = null;
    show($("attribute-form"), false);
  }

  async function save(event) {
    event.preventDefault();
    const kind = $("attribute-kind").value;
    const body = { label: $("attribute-label").value };
    if (kind === "list") body.options = options($("attribute-options").value);
    try {
      if (editing) {
        await api("PATCH", `/api/admin/customer-attributes/${editing.id}`, body);
      } else {
        await post("/api/admin/customer-attributes", { ...body, key: $("attribute-key").value, kind });
      }
      close();
      toast("Attribute saved.");
      await reload();
    } catch (error) {
      $("attribute-error").textContent = error.message;
    }
  }

  async function removeAttribute(attribute) {
    if (!window.confirm(`Remove ${attribute.label}? Every customer's value of it goes too (the timelines keep them).`)) return;
    try {
      await api("DELETE", `/api/admin/customer-attributes/${attribute.id}`, {});
      toast(`${attribute.label} removed.`);
      await reload();
    } catch (error) {
      toast(error.message, "error");
    }
  }

  function start() {
    $("attribute-add").addEventListener("click", () => edit(null));
    $("attribute-form").addEventListener("submit", save);
    $("attribute-form").querySelector("[data-cancel]").addEventListener("click", close);
    $("attribute-form").addEventListener("keydown", (event) => {
      if (event.key === "Escape") close();
    });
    reload().catch((error) => toast(`Could not load the customer attributes: ${error.message}`, "error"));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

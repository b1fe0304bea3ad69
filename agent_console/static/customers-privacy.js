// Switchboard customers page, the customer's data: supervisors and admins download
// everything held on the customer (GET /api/customers/{id}/export, a zip); admins erase
// them (DELETE /api/customers/{id}) after a warning that names the customer and a typed
// confirmation. It listens for switchboard:record (detail: the record as shown).
"use strict";

(() => {
  const { $, show, get, api, toast } = window.SwitchboardPage;
  let role = null;
  let record = null;

  function render(shown) {
    record = shown;
    const allowed = role === "supervisor" || role === "admin";
    show($("privacy"), allowed);
    if (!allowed) return;
    $("privacy-export").href = `/api/customers/${record.id}/export`;
    show($("erase-form"), role === "admin" && !record.erased_at);
    $("erase-warning").textContent = `Erase ${record.shown_as}? Their name, addresses, ` +
      "every message text and attachment go for good; only counts stay.";
    $("erase-form").elements.confirm.value = "";
    $("erase-error").textContent = "";
  }

  async function erase(submit) {
    submit.preventDefault();
    const form = $("erase-form");
    if (form.elements.confirm.value.trim() !== "ERASE") {
      $("erase-error").textContent = "Type ERASE to confirm.";
      return;
    }
    try {
      await api("DELETE", `/api/customers/${record.id}`);
      toast("Customer erased.");
      document.dispatchEvent(new CustomEvent("switchboard:customer", { detail: { id: record.id } }));
    } catch (error) {
      $("erase-error").textContent = error.message;
    }
  }

  document.addEventListener("DOMContentLoaded", async () => {
    document.addEventListener("switchboard:record", (e) => render(e.detail));
    $("erase-form").addEventListener("submit", erase);
    try {
      role = (await get("/api/me")).role;
      if (record) render(record);
    } catch (error) {
      toast(error.message, "error");
    }
  });
})();

// Switchboard console, my settings: the signature that ends the email I send
// (GET /api/me reads it, PUT /api/me/signature saves it).
"use strict";

(() => {
  const { $, get, api, toast } = window.SwitchboardPage;

  async function load() {
    try {
      $("my-signature").value = (await get("/api/me")).signature || "";
    } catch {
      // The top bar says when the hub cannot be reached.
    }
  }

  async function save(event) {
    event.preventDefault();
    $("signature-error").textContent = "";
    try {
      const saved = await api("PUT", "/api/me/signature", { signature: $("my-signature").value });
      $("my-signature").value = saved.signature;
      $("my-settings").open = false;
      toast("Signature saved.");
    } catch (error) {
      $("signature-error").textContent = error.message;
    }
  }

  function start() {
    $("my-settings").addEventListener("toggle", () => { if ($("my-settings").open) load(); });
    $("signature-form").addEventListener("submit", save);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

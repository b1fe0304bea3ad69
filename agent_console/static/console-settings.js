// Switchboard console, my settings: the signature that ends the email I send
// (GET /api/me reads it, PUT /api/me/signature saves it), and the phone my calls ring
// instead of the console's softphone (PUT /api/me/ring-number; empty: the softphone).
"use strict";

(() => {
  const { $, get, api, toast } = window.SwitchboardPage;

  async function load() {
    try {
      const me = await get("/api/me");
      // A field the agent is already typing in keeps what they typed.
      const fill = (id, value) => { if (document.activeElement !== $(id)) $(id).value = value; };
      fill("my-signature", me.signature || "");
      fill("ring-number", me.ring_number || "");
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

  async function saveRingNumber(event) {
    event.preventDefault();
    $("ring-error").textContent = "";
    const number = $("ring-number").value.trim();
    try {
      const saved = await api("PUT", "/api/me/ring-number", { ring_number: number || null });
      $("ring-number").value = saved.ring_number || "";
      $("my-settings").open = false;
      // The softphone registers (or stops) on the next start of the console.
      toast(saved.ring_number ? `Calls ring ${saved.ring_number}.` : "Calls ring the console.");
    } catch (error) {
      $("ring-error").textContent = error.message;
    }
  }

  function start() {
    $("my-settings").addEventListener("toggle", () => { if ($("my-settings").open) load(); });
    $("signature-form").addEventListener("submit", save);
    $("ring-form").addEventListener("submit", saveRingNumber);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

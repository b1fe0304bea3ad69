// Switchboard settings, satisfaction surveys: which channels ask customers for a rating
// once their conversation closes.
"use strict";

(() => {
  const { $, h, toast, api, get } = window.SwitchboardPage;

  function render(channels) {
    $("survey-channels").replaceChildren(...channels.map((c) =>
      h("label", {},
        h("input", { type: "checkbox", name: c.channel, checked: c.enabled }),
        ` Ask on ${c.label}`)));
  }

  async function save(event) {
    event.preventDefault();
    const channels = {};
    for (const box of $("survey-channels").querySelectorAll("input[type=checkbox]")) {
      channels[box.name] = box.checked;
    }
    try {
      render((await api("PUT", "/api/admin/surveys", { channels })).channels);
      toast("Surveys saved.");
    } catch (error) {
      toast(error.message, "error");
    }
  }

  async function start() {
    $("surveys-form").addEventListener("submit", save);
    try {
      render((await get("/api/admin/surveys")).channels);
    } catch (error) {
      toast(error.message, "error");
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

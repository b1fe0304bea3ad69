// Switchboard console, the page's layout: the customer column (customer, suggestions,
// timeline) folds into a narrow rail and back, remembered on this browser, so a small
// screen keeps the thread wide without losing the customer's history.
"use strict";

(() => {
  const { $, show } = window.SwitchboardPage;
  const app = window.SwitchboardConsole;
  const FOLDED_KEY = "switchboard.context";

  function setFolded(folded) {
    $("context").dataset.folded = String(folded);
    document.querySelector(".columns").dataset.context = folded ? "folded" : "open";
    show($("context-panels"), !folded);
    const toggle = $("context-toggle");
    toggle.setAttribute("aria-expanded", String(!folded));
    toggle.textContent = folded ? "Customer" : "Hide panel";
    toggle.title = folded ? "Show the customer, suggestions and timeline" : "Fold this column away";
  }

  function toggle() {
    const folded = $("context").dataset.folded !== "true";
    localStorage.setItem(FOLDED_KEY, folded ? "folded" : "open");
    setFolded(folded);
  }

  app.ready(() => {
    setFolded(localStorage.getItem(FOLDED_KEY) === "folded");
    $("context-toggle").addEventListener("click", toggle);
  });
})();

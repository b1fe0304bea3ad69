// Switchboard settings: the audit log, read a page at a time, filtered, or downloaded.
// Lines hold what anyone typed (a failed login's username): shown with textContent only.
"use strict";

(() => {
  const { $, h, show, toast, get } = window.SwitchboardPage;
  let cursor = null;

  function filters() {
    const query = new URLSearchParams();
    for (const name of ["actor", "action", "since", "until"]) {
      const value = $(`audit-${name}`).value.trim();
      if (value) query.set(name, value);
    }
    return query;
  }

  function line(entry) {
    const change = Object.keys(entry.change).length ? JSON.stringify(entry.change) : "";
    return h("tr", {},
      h("td", {}, new Date(entry.at).toLocaleString()),
      h("td", {}, entry.actor || "—"),
      h("td", {}, entry.action),
      h("td", {}, entry.target),
      h("td", { class: "audit-change" }, change),
      h("td", {}, entry.address));
  }

  async function load(more) {
    const query = filters();
    if (more && cursor) query.set("cursor", cursor);
    $("audit-csv").href = `/api/admin/audit.csv?${filters()}`;
    try {
      const page = await get(`/api/admin/audit?${query}`);
      const rows = page.entries.map(line);
      if (more) $("audit-lines").append(...rows);
      else $("audit-lines").replaceChildren(...rows);
      cursor = page.next_cursor;
      show($("audit-more"), Boolean(cursor));
    } catch (error) {
      toast(`Could not read the audit log: ${error.message}`, "error");
    }
  }

  function start() {
    $("audit-filter").addEventListener("submit", (event) => {
      event.preventDefault();
      load(false);
    });
    $("audit-more").addEventListener("click", () => load(true));
    load(false);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

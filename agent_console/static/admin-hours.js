// Switchboard settings, business hours and the phone menu: schedules (weekly hours,
// holidays typed or imported from an .ics file) attached to queues, and the menu callers
// hear, edited as JSON. Names and prompts reach the page as text only.
"use strict";

(() => {
  const { $, h, show, toast, api, get, post } = window.SwitchboardPage;
  const DAYS = [["mon", "Monday"], ["tue", "Tuesday"], ["wed", "Wednesday"], ["thu", "Thursday"],
    ["fri", "Friday"], ["sat", "Saturday"], ["sun", "Sunday"]];
  let schedules = [];
  let inboxes = [];
  let editing = null; // the schedule being edited, or null when adding

  const clock = (time) => time.slice(0, 5);

  function intervalsText(intervals) {
    return (intervals || []).map((i) => `${clock(i.opens)}-${clock(i.closes)}`).join(", ");
  }

  function parseIntervals(text, day) {
    return text.split(",").map((p) => p.trim()).filter(Boolean).map((part) => {
      const found = part.match(/^(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})$/);
      if (!found) throw new Error(`${day}: "${part}" is not an interval like 09:00-17:00.`);
      return { opens: found[1].padStart(5, "0"), closes: found[2].padStart(5, "0") };
    });
  }

  function parseHolidays(text) {
    return text.split("\n").map((l) => l.trim()).filter(Boolean).map((line) => {
      const found = line.match(/^(\d{4}-\d{2}-\d{2})\s*(.*)$/);
      if (!found) throw new Error(`"${line}" does not start with a date like 2026-12-25.`);
      return { day: found[1], name: found[2] };
    });
  }

  function attachedTo(schedule) {
    const names = schedule.inboxes.map((id) => {
      const inbox = inboxes.find((i) => i.id === id);
      return inbox ? inbox.name : `queue ${id}`;
    });
    return names.concat(schedule.queues.map((q) => `${q} (routing queue)`)).join(", ") || "nothing yet";
  }

  function nowText(schedule) {
    if (schedule.open_now) return "Open";
    if (!schedule.next_opening) return "Closed";
    return `Closed, opens ${new Date(schedule.next_opening).toLocaleString()}`;
  }

  function render() {
    $("schedules").replaceChildren(...schedules.map((s) =>
      h("tr", { dataset: { schedule: s.name } },
        h("th", { scope: "row" }, s.name),
        h("td", {}, s.timezone),
        h("td", {}, nowText(s)),
        h("td", {}, String(s.holidays.length)),
        h("td", { class: "cell-text" }, attachedTo(s)),
        h("td", { class: "cell-actions" },
          h("button", { type: "button", class: "secondary small", "aria-label": `Edit ${s.name}`, onclick: () => edit(s) }, "Edit")))));
    const choices = () => schedules.map((s) => h("option", { value: String(s.id) }, s.name));
    $("ics-schedule").replaceChildren(...choices());
    $("attach-schedule").replaceChildren(h("option", { value: "" }, "no schedule (always open)"), ...choices());
    $("attach-target").replaceChildren(h("option", { value: "" }, "a queue…"),
      ...inboxes.map((i) => h("option", { value: String(i.id) }, `${i.name} (${i.channel})`)));
  }

  async function reload() {
    [schedules, inboxes] = await Promise.all([get("/api/admin/schedules"), get("/api/admin/queues")]);
    render();
  }

  function edit(schedule) {
    editing = schedule;
    $("schedule-form-title").textContent = schedule ? `Edit ${schedule.name}` : "Add schedule";
    $("schedule-name").value = schedule ? schedule.name : "";
    $("schedule-timezone").value = schedule ? schedule.timezone : Intl.DateTimeFormat().resolvedOptions().timeZone;
    for (const [day] of DAYS) {
      $(`schedule-${day}`).value = schedule ? intervalsText(schedule.weekly[day]) : (day === "sat" || day === "sun" ? "" : "09:00-17:00");
    }
    $("schedule-holidays").value = schedule ? schedule.holidays.map((d) => `${d.day} ${d.name}`.trim()).join("\n") : "";
    $("schedule-error").textContent = "";
    show($("schedule-form"), true);
    $("schedule-name").focus();
  }

  function close() {
    editing = null;
    show($("schedule-form"), false);
  }

  async function save(event) {
    event.preventDefault();
    try {
      const weekly = {};
      for (const [day, label] of DAYS) {
        const intervals = parseIntervals($(`schedule-${day}`).value, label);
        if (intervals.length) weekly[day] = intervals;
      }
      const body = {
        name: $("schedule-name").value,
        timezone: $("schedule-timezone").value,
        weekly,
        holidays: parseHolidays($("schedule-holidays").value),
      };
      if (editing) await api("PUT", `/api/admin/schedules/${editing.id}`, body);
      else await post("/api/admin/schedules", body);
      close();
      toast("Schedule saved.");
      await reload();
    } catch (error) {
      $("schedule-error").textContent = error.message;
    }
  }

  async function importHolidays(event) {
    event.preventDefault();
    $("ics-error").textContent = "";
    const file = $("ics-file").files[0];
    if (!file) return;
    const response = await fetch(`/api/admin/schedules/${$("ics-schedule").value}/holidays`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "text/calendar", Accept: "application/json" },
      body: file,
    });
    const data = await response.json();
    if (!response.ok) {
      $("ics-error").textContent = data.error || `The hub answered ${response.status}.`;
      return;
    }
    toast(`${data.imported} holiday days imported into ${data.name}.`);
    $("ics-file").value = "";
    await reload();
  }

  async function attach(event) {
    event.preventDefault();
    $("attach-error").textContent = "";
    const scheduleId = $("attach-schedule").value ? Number($("attach-schedule").value) : null;
    const queue = $("attach-queue").value.trim();
    const body = queue ? { schedule_id: scheduleId, queue } : { schedule_id: scheduleId, inbox_id: Number($("attach-target").value) || null };
    try {
      await api("PUT", "/api/admin/schedule-attachments", body);
      toast("Schedule attached.");
      $("attach-queue").value = "";
      await reload();
    } catch (error) {
      $("attach-error").textContent = error.message;
    }
  }

  // --- the phone menu ------------------------------------------------------------------

  function outlineOf(menu) {
    if (!menu) return [h("li", {}, "No menu: callers wait in the general queue.")];
    const where = (o) => o.to === "step" ? `step ${o.step}` : o.to === "queue" ? `queue ${o.queue}` : o.to;
    const stepItem = (name, step) => h("li", { dataset: { step: name } },
      h("strong", {}, name), ` (${step.language}): ${step.prompt}`,
      h("ul", {}, ...step.options.map((o) =>
        h("li", {}, `${o.key}${o.words.length ? ` or "${o.words.join('", "')}"` : ""} → ${where(o)}`))));
    return [...Object.entries(menu.steps).map(([name, step]) => stepItem(name, step)), stepItem("closed", menu.closed)];
  }

  async function loadMenu() {
    const { menu } = await get("/api/admin/phone-menu");
    $("menu-json").value = menu ? JSON.stringify(menu, null, 2) : "";
    $("menu-outline").replaceChildren(...outlineOf(menu));
  }

  async function saveMenu(event) {
    event.preventDefault();
    $("menu-error").textContent = "";
    let menu;
    try {
      menu = JSON.parse($("menu-json").value);
    } catch (error) {
      $("menu-error").textContent = `The menu is not valid JSON: ${error.message}`;
      return;
    }
    try {
      await api("PUT", "/api/admin/phone-menu", menu);
      toast("Phone menu saved; the next call hears it.");
      await loadMenu();
    } catch (error) {
      $("menu-error").textContent = error.message;
    }
  }

  function start() {
    $("schedule-week").replaceChildren(...DAYS.map(([day, label]) =>
      h("label", {}, `${label} `, h("input", { id: `schedule-${day}`, maxlength: "100", placeholder: "closed" }))));
    $("schedule-add").addEventListener("click", () => edit(null));
    $("schedule-form").addEventListener("submit", save);
    $("schedule-form").querySelector("[data-cancel]").addEventListener("click", close);
    $("ics-form").addEventListener("submit", (event) => importHolidays(event).catch((error) => { $("ics-error").textContent = error.message; }));
    $("attach-form").addEventListener("submit", attach);
    $("menu-form").addEventListener("submit", saveMenu);
    reload().catch((error) => toast(`Could not load the schedules: ${error.message}`, "error"));
    loadMenu().catch((error) => toast(`Could not load the phone menu: ${error.message}`, "error"));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

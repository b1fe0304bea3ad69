// Switchboard settings: agents, queues and canned responses, for admins.
// Everything shown goes through textContent or an input's value, never markup.
"use strict";

(() => {
  const { $, h, show, toast, api, get, post } = window.SwitchboardPage;
  let channels = []; // the channels the hub runs, as GET /api/channels lists them
  const patch = (path, body) => api("PATCH", path, body);
  const remove = (path) => api("DELETE", path, {});

  const state = { agents: [], queues: [], limits: [], canned: [] };
  const editing = { agent: null, queue: null, limit: null, canned: null }; // the id being edited, or null

  // --- small helpers ----------------------------------------------------------------

  function skillsText(skills) {
    return Object.entries(skills).map(([skill, level]) => `${skill}:${level}`).join(", ");
  }

  function parseSkills(text) {
    const skills = {};
    for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
      const found = part.match(/^([^:\s]+)\s*:\s*(\d+)$/);
      if (!found) throw new Error(`"${part}" is not skill:level (for example support:7).`);
      skills[found[1].toLowerCase()] = Number(found[2]);
    }
    return skills;
  }

  function parseList(text) {
    return text.split(",").map((p) => p.trim()).filter(Boolean);
  }

  function capacityText(capacities) {
    return channels.map((c) => c.name).filter((c) => c in capacities)
      .map((c) => `${c} ${capacities[c]}`).join(", ") || "defaults";
  }

  /** The fields and choices that name a channel: one per channel the hub runs. */
  function renderChannelFields() {
    $("capacities").replaceChildren(...channels.map((c) =>
      h("label", {}, `${c.label} `,
        h("input", { id: `capacity-${c.name}`, type: "number", min: "0", max: "50", inputmode: "numeric" }))));
    const options = () => channels.map((c) => h("option", { value: c.name }, c.label));
    $("queue-channel").replaceChildren(...options());
    $("limit-channel").append(...options());
  }

  function openForm(kind, title, id) {
    editing[kind] = id;
    const form = $(`${kind}-form`);
    $(`${kind}-form-title`).textContent = title;
    $(`${kind}-error`).textContent = "";
    show(form, true);
    form.querySelector("input:not([readonly]), select, textarea").focus();
  }

  function closeForm(kind) {
    editing[kind] = null;
    show($(`${kind}-form`), false);
  }

  async function saving(kind, work) {
    const form = $(`${kind}-form`);
    form.setAttribute("aria-busy", "true");
    $(`${kind}-error`).textContent = "";
    try {
      await work();
      closeForm(kind);
      await reload();
    } catch (error) {
      $(`${kind}-error`).textContent = error.message;
    } finally {
      form.removeAttribute("aria-busy");
    }
  }

  // --- agents ----------------------------------------------------------------------

  function renderAgents() {
    $("agents").replaceChildren(
      ...state.agents.map((a) =>
        h("tr", { dataset: { agent: a.username }, class: a.active ? "" : "inactive" },
          h("th", { scope: "row" }, h("span", { class: "cell-main" }, a.display_name || a.username),
            h("span", { class: "cell-sub" }, a.username)),
          h("td", {}, a.role),
          h("td", {}, a.team),
          h("td", {}, skillsText(a.skills)),
          h("td", {}, a.languages.join(", ")),
          h("td", {}, capacityText(a.capacities)),
          h("td", {}, a.active ? a.status : "deactivated"),
          h("td", {}, h("button", {
            type: "button",
            class: "secondary small",
            "aria-label": `Edit ${a.display_name || a.username}`,
            onclick: () => editAgent(a),
          }, "Edit")))),
    );
  }

  function fillAgentForm(agent) {
    $("agent-username").value = agent ? agent.username : "";
    $("agent-username").readOnly = Boolean(agent);
    $("agent-display-name").value = agent ? agent.display_name : "";
    $("agent-password").value = "";
    $("agent-password").required = !agent;
    $("agent-role").value = agent ? agent.role : "agent";
    $("agent-team").value = agent ? agent.team : "";
    $("agent-skills").value = agent ? skillsText(agent.skills) : "";
    $("agent-languages").value = agent ? agent.languages.join(", ") : "en";
    $("agent-signature").value = agent ? agent.signature : "";
    for (const { name: channel } of channels) {
      const value = agent ? agent.capacities[channel] : undefined;
      $(`capacity-${channel}`).value = value === undefined ? "" : String(value);
    }
    $("agent-active").checked = agent ? agent.active : true;
  }

  function editAgent(agent) {
    fillAgentForm(agent);
    openForm("agent", `Edit ${agent.display_name || agent.username}`, agent.id);
  }

  function agentBody() {
    const capacities = {};
    for (const { name: channel } of channels) {
      const value = $(`capacity-${channel}`).value.trim();
      if (value !== "") capacities[channel] = Number(value);
    }
    const body = {
      display_name: $("agent-display-name").value,
      role: $("agent-role").value,
      team: $("agent-team").value,
      skills: parseSkills($("agent-skills").value),
      languages: parseList($("agent-languages").value),
      capacities,
      active: $("agent-active").checked,
      signature: $("agent-signature").value,
    };
    if ($("agent-password").value) body.password = $("agent-password").value;
    return body;
  }

  function saveAgent(event) {
    event.preventDefault();
    saving("agent", async () => {
      const body = agentBody();
      if (editing.agent === null) {
        await post("/api/admin/agents", { ...body, username: $("agent-username").value.trim() });
        toast("Agent added.");
      } else {
        await patch(`/api/admin/agents/${editing.agent}`, body);
        toast("Agent saved; routing uses it at once.");
      }
    });
  }

  // --- queues ----------------------------------------------------------------------

  function renderQueues() {
    $("queues").replaceChildren(
      ...state.queues.map((q) =>
        h("tr", { dataset: { queue: q.address } },
          h("th", { scope: "row" }, q.name),
          h("td", {}, q.channel),
          h("td", {}, q.address),
          h("td", {}, q.skill || "any"),
          h("td", {}, String(q.skill_level)),
          h("td", {}, q.language),
          h("td", {}, h("button", {
            type: "button",
            class: "secondary small",
            "aria-label": `Edit ${q.name}`,
            onclick: () => editQueue(q),
          }, "Edit")))),
    );
  }

  function editQueue(queue) {
    $("queue-name").value = queue ? queue.name : "";
    $("queue-channel").value = queue ? queue.channel : channels[0].name;
    $("queue-channel").disabled = Boolean(queue);
    $("queue-address").value = queue ? queue.address : "";
    $("queue-skill").value = queue ? queue.skill : "";
    $("queue-level").value = String(queue ? queue.skill_level : 1);
    $("queue-language").value = queue ? queue.language : "en";
    $("queue-signature").value = queue ? queue.signature : "";
    openForm("queue", queue ? `Edit ${queue.name}` : "Add queue", queue ? queue.id : null);
  }

  function saveQueue(event) {
    event.preventDefault();
    saving("queue", async () => {
      const body = {
        name: $("queue-name").value,
        address: $("queue-address").value,
        skill: $("queue-skill").value.trim(),
        skill_level: Number($("queue-level").value),
        language: $("queue-language").value.trim(),
        signature: $("queue-signature").value,
      };
      if (editing.queue === null) {
        await post("/api/admin/queues", { ...body, channel: $("queue-channel").value });
        toast("Queue added.");
      } else {
        await patch(`/api/admin/queues/${editing.queue}`, body);
        toast("Queue saved.");
      }
    });
  }

  // --- queue limits -------------------------------------------------------------------

  const orNone = (value, unit = "") => (value === null || value === undefined ? "none" : `${value}${unit}`);
  const numberOrNull = (text) => (text.trim() === "" ? null : Number(text));

  function renderLimits() {
    $("limits").replaceChildren(
      ...state.limits.map((l) =>
        h("tr", { dataset: { limit: `${l.name}/${l.channel || ""}` } },
          h("th", { scope: "row" }, l.name),
          h("td", {}, l.channel || "every channel"),
          h("td", {}, orNone(l.max_waiting)),
          h("td", {}, orNone(l.max_wait_seconds, " s")),
          h("td", {}, l.overflow_queue || "none"),
          h("td", {}, h("button", {
            type: "button",
            class: "secondary small",
            "aria-label": `Edit the limits of ${l.name}${l.channel ? ` (${l.channel})` : ""}`,
            onclick: () => editLimit(l),
          }, "Edit")))),
    );
    if (!state.limits.length) $("limits").append(h("tr", {}, h("td", { colspan: "6", class: "empty" }, "No limits yet: every queue takes any number of contacts, however long they wait.")));
  }

  function editLimit(limit) {
    $("limit-name").value = limit ? limit.name : "";
    $("limit-channel").value = limit ? limit.channel || "" : "";
    $("limit-waiting").value = limit && limit.max_waiting !== null ? String(limit.max_waiting) : "";
    $("limit-wait").value = limit && limit.max_wait_seconds !== null ? String(limit.max_wait_seconds) : "";
    $("limit-overflow").value = limit ? limit.overflow_queue || "" : "";
    openForm("limit", limit ? `Limits of ${limit.name}` : "Set queue limits", limit ? limit.name : null);
  }

  function saveLimit(event) {
    event.preventDefault();
    saving("limit", async () => {
      await post("/api/admin/queue-limits", {
        name: $("limit-name").value.trim(),
        channel: $("limit-channel").value || null,
        max_waiting: numberOrNull($("limit-waiting").value),
        max_wait_seconds: numberOrNull($("limit-wait").value),
        overflow_queue: $("limit-overflow").value.trim() || null,
      });
      toast("Queue limits saved; routing applies them at once.");
    });
  }

  // --- canned responses ----------------------------------------------------------------

  function renderCanned() {
    $("canned-list").replaceChildren(
      ...state.canned.map((c) =>
        h("tr", { dataset: { canned: c.shortcut } },
          h("th", { scope: "row" }, `/${c.shortcut}`),
          h("td", {}, c.title),
          h("td", { class: "cell-text" }, c.body),
          h("td", { class: "cell-actions" },
            h("button", {
              type: "button",
              class: "secondary small",
              "aria-label": `Edit /${c.shortcut}`,
              onclick: () => editCanned(c),
            }, "Edit"),
            h("button", {
              type: "button",
              class: "ghost small",
              "aria-label": `Delete /${c.shortcut}`,
              onclick: () => deleteCanned(c),
            }, "Delete")))),
    );
  }

  function editCanned(canned) {
    $("canned-shortcut").value = canned ? canned.shortcut : "";
    $("canned-title").value = canned ? canned.title : "";
    $("canned-body").value = canned ? canned.body : "";
    openForm("canned", canned ? `Edit /${canned.shortcut}` : "Add canned response", canned ? canned.id : null);
  }

  function saveCanned(event) {
    event.preventDefault();
    saving("canned", async () => {
      const body = {
        shortcut: $("canned-shortcut").value,
        title: $("canned-title").value,
        body: $("canned-body").value,
      };
      if (editing.canned === null) await post("/api/canned-responses", body);
      else await patch(`/api/canned-responses/${editing.canned}`, body);
      toast("Canned response saved.");
    });
  }

  async function deleteCanned(canned) {
    if (!window.confirm(`Delete /${canned.shortcut}?`)) return;
    try {
      await remove(`/api/canned-responses/${canned.id}`);
      toast(`/${canned.shortcut} deleted.`);
      await reload();
    } catch (error) {
      toast(error.message, "error");
    }
  }

  // --- start ---------------------------------------------------------------------------

  async function reload() {
    const [agents, queues, limits, canned] = await Promise.all([
      get("/api/admin/agents"),
      get("/api/admin/queues"),
      get("/api/admin/queue-limits"),
      get("/api/canned-responses"),
    ]);
    Object.assign(state, { agents, queues, limits, canned });
    renderAgents();
    renderQueues();
    renderLimits();
    renderCanned();
  }

  function start() {
    $("agent-add").addEventListener("click", () => {
      fillAgentForm(null);
      openForm("agent", "Add agent", null);
    });
    $("queue-add").addEventListener("click", () => editQueue(null));
    $("limit-add").addEventListener("click", () => editLimit(null));
    $("canned-add").addEventListener("click", () => editCanned(null));
    $("limit-form").addEventListener("submit", saveLimit);
    $("agent-form").addEventListener("submit", saveAgent);
    $("queue-form").addEventListener("submit", saveQueue);
    $("canned-form").addEventListener("submit", saveCanned);
    for (const kind of ["agent", "queue", "limit", "canned"]) {
      const form = $(`${kind}-form`);
      form.querySelector("[data-cancel]").addEventListener("click", () => closeForm(kind));
      form.addEventListener("keydown", (event) => {
        if (event.key === "Escape") closeForm(kind);
      });
    }
    get("/api/channels")
      .then((list) => {
        channels = list;
        renderChannelFields();
      })
      .then(reload)
      .then(() => {
        // Their forms need the channels and lists just read: usable from now on.
        for (const id of ["agent-add", "queue-add", "limit-add", "canned-add"]) $(id).disabled = false;
      })
      .catch((error) => toast(`Could not load the settings: ${error.message}`, "error"));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

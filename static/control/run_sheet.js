// The control room's run sheet, live (topic `cues`, organisers only): every `run_sheet` event
// redraws the day's cues in the words the server drew them with (organisers/control_room/
// run_sheet.py), the next cue counts down in the browser, a note that fires pops up for the host,
// and the panel's forms post without leaving the page (the event redraws the panel on every
// organiser's screen). Without this script the forms post and come back with a message.

import { countdown, groupThousands } from "../shared/format.js";

const ACTIONS = { open: "Open", close: "Close", news: "News", price: "Price", scene: "Scene", note: "Note" };
const STATUSES = { planned: "Planned", fired: "Fired", skipped: "Skipped", failed: "Failed" };
// A planned cue this long past its time, not fired: the scheduler is probably not running.
const OVERDUE_AFTER_MS = 10000;

function two(number) {
  return String(number).padStart(2, "0");
}

export function durationText(seconds) {
  const whole = Math.round(seconds);
  return `${two(Math.floor(whole / 3600))}:${two(Math.floor((whole % 3600) / 60))}:${two(whole % 60)}`;
}

function changePct(value) {
  const number = Number(value); // a whole change may be kept as "1E+1"
  if (Number.isNaN(number)) return `${value}%`;
  return number > 0 ? `+${number}%` : `${number}%`;
}

export function summary(cue) {
  const data = cue.data || {};
  switch (cue.action) {
    case "open":
      return `Start bell: day ${cue.day} opens`;
    case "close":
      return `End bell: day ${cue.day} closes`;
    case "news":
      return data.title || "";
    case "price":
      return "price" in data
        ? `${data.ticker || ""} → ${groupThousands(data.price)}`
        : `${data.ticker || ""} ${changePct(data.change_pct || "")}`;
    case "scene": {
      const options = Object.entries(data.options || {}).map(([name, value]) => `${name} ${value}`);
      return [data.scene || "", ...options].join(" ").trim();
    }
    default:
      return data.text || "";
  }
}

export function nextIn(dueIso, expectedIso, held, now = Date.now()) {
  if (held) return "held: it waits for Resume";
  if (!dueIso) {
    if (!expectedIso) return "waits for the start bell";
    return `in about ${countdown(expectedIso, now)}, if the bell rings on time`;
  }
  const due = Date.parse(dueIso);
  if (due > now) return `in ${countdown(dueIso, now)}`;
  if (now - due <= OVERDUE_AFTER_MS) return "due now";
  return `overdue by ${countdown(new Date(now).toISOString(), due)}: is the scheduler running?`;
}

export function startRunSheet(panel, { timeZone }) {
  const rows = panel.querySelector('[data-role="cue-rows"]');
  const rowTemplate = document.getElementById("cue-row");
  const alertTemplate = document.getElementById("cue-alert");
  const alerts = panel.querySelector('[data-role="cue-alerts"]');
  const said = panel.querySelector('[data-role="run-sheet-said"]');
  const heading = panel.querySelector("h2");
  const clockFormat = new Intl.DateTimeFormat("en-GB", {
    timeZone: timeZone || undefined,
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  });
  const clock = (iso) => (iso ? clockFormat.format(new Date(iso)) : "");
  const field = (element, name) => element.querySelector(`[data-field="${name}"]`);

  function details(cue) {
    const bits = [];
    if (cue.fired_at && cue.status !== "planned") bits.push(clock(cue.fired_at));
    const result = cue.result || {};
    if (cue.status === "fired" && cue.action === "price" && "old_price" in result) {
      bits.push(`${result.ticker} ${groupThousands(result.old_price)} → ${groupThousands(result.price)}`);
    }
    if (cue.late_by) bits.push(`late by ${cue.late_by}`);
    if (cue.shifted_by) bits.push(`shifted by ${cue.shifted_by}`);
    if (cue.undone_at) bits.push(`undone at ${clock(cue.undone_at)}`);
    if (cue.reason) bits.push(cue.reason);
    return bits.join(" · ");
  }

  function held() {
    return panel.dataset.held === "1";
  }

  function tick() {
    const timer = rows.querySelector('tr.next [data-field="countdown"]');
    if (timer) timer.textContent = nextIn(timer.dataset.due, timer.dataset.expected, held());
  }

  function fill(row, cue, isNext) {
    row.dataset.cue = cue.id;
    row.dataset.status = cue.status;
    row.className = ["cue", cue.status, isNext && "next", cue.undone_at && "undone"].filter(Boolean).join(" ");
    if (isNext) row.setAttribute("aria-current", "step");
    else row.removeAttribute("aria-current");

    const time = field(row, "time");
    time.textContent = clock(cue.expected_at);
    if (cue.expected_at) time.dateTime = cue.expected_at;
    else time.removeAttribute("datetime");
    field(row, "estimated").hidden = !(cue.due_at === null && cue.expected_at);
    field(row, "at").textContent = cue.at.startsWith("+") ? `${cue.at} after the bell` : "";

    const label = ACTIONS[cue.action] || cue.action;
    const what = summary(cue);
    field(row, "action").textContent = label;
    field(row, "what").textContent = what;
    field(row, "what").title = what;

    const status = field(row, "status");
    status.className = `cue-state ${cue.status}`;
    status.textContent = isNext ? "Next" : STATUSES[cue.status] || cue.status;
    const timer = field(row, "countdown");
    timer.hidden = !isNext;
    timer.dataset.due = cue.due_at || "";
    timer.dataset.expected = cue.expected_at || "";
    timer.textContent = isNext ? nextIn(cue.due_at, cue.expected_at, held()) : "";
    field(row, "details").textContent = details(cue);

    field(row, "act").hidden = cue.status !== "planned";
    for (const input of row.querySelectorAll('input[name="cue"]')) input.value = cue.id;
    field(row, "fire-label").textContent = `: ${label} ${what}`;
    field(row, "skip-label").textContent = `: ${label} ${what}`;
  }

  function drawState(timeline) {
    const sheet = timeline.run_sheet;
    const focused = document.activeElement;
    panel.dataset.held = sheet.held ? "1" : "0";
    const state = panel.querySelector('[data-role="sheet-state"]');
    state.classList.toggle("held", sheet.held);
    field(state, "state").textContent = sheet.held ? `Held since ${clock(sheet.held_since)}` : "Running";
    field(state, "state-help").textContent = sheet.held
      ? "No cue fires by itself until you resume; Fire now still works."
      : "Cues fire by themselves when due.";
    field(state, "shifted").textContent = sheet.shifted_by
      ? `Held ${durationText(sheet.shifted_by)} in all so far.`
      : "";
    const hold = panel.querySelector('[data-role="hold"]');
    const resume = panel.querySelector('[data-role="resume"]');
    hold.hidden = sheet.held;
    resume.hidden = !sheet.held;
    // The one who pressed Hold finds Resume under their finger, and the other way round.
    if (hold.contains(focused) && sheet.held) resume.querySelector("button").focus();
    if (resume.contains(focused) && !sheet.held) hold.querySelector("button").focus();
    // Undo names what it would put back, and sends that cue: pressed after another organiser's
    // undo, it undoes nothing rather than the one before.
    const undo = panel.querySelector('[data-role="undo"]');
    const target = timeline.undoable;
    undo.querySelector('input[name="cue"]').value = target ? target.id : "";
    undo.querySelector("button").setAttribute("aria-disabled", target ? "false" : "true");
    field(undo, "undo-what").textContent = target
      ? `: ${target.result.ticker} back to ${target.result.old_price} (fired ${clock(target.fired_at)})`
      : "";
    field(panel, "day").textContent = String(timeline.day);
    const others = (timeline.days || []).filter((day) => day !== timeline.day);
    field(panel, "other-days").textContent = others.length ? `; other days with cues: ${others.join(", ")}` : "";
  }

  function draw(timeline) {
    const focused = rows.contains(document.activeElement) ? document.activeElement : null;
    drawState(timeline);
    const existing = new Map([...rows.querySelectorAll("tr[data-cue]")].map((row) => [row.dataset.cue, row]));
    const nextId = (timeline.cues.find((cue) => cue.status === "planned") || {}).id;
    const wanted = timeline.cues.map((cue) => {
      const row = existing.get(cue.id) || rowTemplate.content.firstElementChild.cloneNode(true);
      existing.delete(cue.id);
      fill(row, cue, cue.id === nextId);
      return row;
    });
    for (const gone of existing.values()) gone.remove();
    rows.querySelector("tr.empty")?.remove();
    wanted.forEach((row, index) => {
      if (rows.children[index] !== row) rows.insertBefore(row, rows.children[index] || null);
    });
    if (!wanted.length) {
      const empty = document.createElement("tr");
      empty.className = "empty";
      const cell = empty.insertCell();
      cell.colSpan = 5;
      cell.textContent = `No cues for day ${timeline.day} yet.`;
      rows.append(empty);
    }
    // A button that went away under the keyboard (its cue fired): the focus stays in the panel.
    if (focused && (!focused.isConnected || focused.closest("[hidden]"))) said.focus();
  }

  function popUp(cue) {
    if (!cue || cue.action !== "note" || cue.status !== "fired") return;
    if (alerts.querySelector(`[data-cue="${CSS.escape(cue.id)}"]`)) return;
    const note = alertTemplate.content.firstElementChild.cloneNode(true);
    note.dataset.cue = cue.id;
    field(note, "time").textContent = clock(cue.fired_at);
    field(note, "text").textContent = (cue.data && cue.data.text) || "";
    note.querySelector("button").addEventListener("click", () => {
      note.remove();
      const left = alerts.querySelector("button");
      (left || heading).focus();
    });
    alerts.append(note);
  }

  function say(level, message) {
    said.textContent = message;
    said.className = `run-sheet-said ${level}`;
  }

  // The forms post in the background: the answer is the message; the event redraws the panel.
  panel.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-run-sheet-form]");
    if (!form) return;
    event.preventDefault();
    const button = form.querySelector("button");
    // Busy, not disabled: a disabled button would drop the keyboard's focus.
    if (button.getAttribute("aria-disabled") === "true") return;
    button.setAttribute("aria-disabled", "true");
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!(response.headers.get("Content-Type") || "").includes("application/json")) {
        if (response.redirected || response.status === 403) {
          form.submit(); // signed out, or the CSRF token expired: the page itself says so
        } else {
          say("error", `The server answered ${response.status}: reload the page to see what happened.`);
        }
        return;
      }
      const answer = await response.json();
      say(answer.level, answer.message);
      const lost = [button, document.body, null].includes(document.activeElement);
      if (button.closest("[hidden]") && lost) said.focus(); // its cue fired meanwhile: stay in the panel
    } catch {
      say("error", "Not sent: the connection to the server is down. Try again in a moment.");
    } finally {
      button.removeAttribute("aria-disabled");
    }
  });

  setInterval(tick, 1000);
  return {
    draw,
    fired: popUp,
    status: (online) => {
      panel.dataset.live = online ? "1" : "0";
      const line = panel.querySelector('[data-role="run-sheet-status"]');
      line.textContent = online ? "" : "Reconnecting… the run sheet will update when it is back.";
    },
  };
}

// The control room, live: the latest trades arrive as they happen (the one screen that shows the
// trade tape: topic `trades`), the run sheet follows every change (topic `cues`: run_sheet.js),
// the director names the scene on air (topic `scene`: director.js), the counts refresh every few
// seconds, and the overlay URLs copy with one click. The page works without this script (the server
// draws the trades and counts; the URLs can be selected by hand). No inline scripts or handlers:
// ready for a Content-Security-Policy.

import { groupThousands } from "../shared/format.js";
import { connectLive } from "../shared/live.js";
import { startDirector } from "./director.js";
import { startRunSheet } from "./run_sheet.js";

const REFRESH_MS = 5000;
const root = document.querySelector("[data-counts-url]");

function showStatus(text) {
  const status = root?.querySelector('[data-role="counts-status"]');
  if (status) status.textContent = text;
}

async function refreshCounts() {
  if (document.hidden) return; // a background tab asks nothing
  try {
    const response = await fetch(root.dataset.countsUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    // Signed out, the admin answers with its login page: not JSON.
    if (!response.ok || !(response.headers.get("Content-Type") || "").includes("application/json")) {
      throw new Error(`counts answered ${response.status}`);
    }
    const counts = await response.json();
    for (const element of root.querySelectorAll("[data-count]")) {
      const value = counts[element.dataset.count];
      if (value !== undefined && value !== null) element.textContent = groupThousands(value);
    }
    showStatus("");
  } catch {
    showStatus("The counts are not updating: check the connection, or sign in again.");
  }
}

async function copy(button) {
  const input = document.getElementById(button.dataset.copy);
  if (!input) return;
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    document.execCommand("copy"); // no clipboard API outside HTTPS: copy the selection
  }
  const label = button.textContent;
  button.textContent = "Copied";
  setTimeout(() => {
    button.textContent = label;
  }, 1500);
}

for (const button of document.querySelectorAll("[data-copy]")) {
  button.hidden = false;
  button.addEventListener("click", () => copy(button));
}

if (root) {
  setInterval(refreshCounts, REFRESH_MS);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refreshCounts();
  });
}

// The trade tape

const tape = root?.querySelector('[data-role="trade-rows"]');
const rowTemplate = document.getElementById("trade-row");

function tradeTime(iso) {
  const format = new Intl.DateTimeFormat("en-GB", {
    timeZone: root.dataset.timezone || undefined,
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hour12: false,
  });
  return format.format(new Date(iso)).replace(",", "");
}

function tradeRow(trade) {
  const row = rowTemplate.content.firstElementChild.cloneNode(true);
  row.dataset.trade = trade.id;
  const when = row.querySelector("time");
  when.dateTime = trade.created_at;
  when.textContent = tradeTime(trade.created_at);
  const fields = {
    day: String(trade.day),
    team: trade.team,
    order: `${trade.type === "buy" ? "Buy" : "Sell"} ${trade.ticker}`,
    quantity: groupThousands(trade.quantity),
    price: groupThousands(trade.price),
    total: groupThousands(trade.total),
    fee: groupThousands(trade.fee),
  };
  for (const [name, text] of Object.entries(fields)) row.querySelector(`[data-field="${name}"]`).textContent = text;
  row.querySelector("input[name=trade]").value = trade.id;
  const reason = row.querySelector("input[name=reason]");
  reason.id = `reason-${trade.id}`;
  row.querySelector("label").htmlFor = reason.id;
  return row;
}

// Newest first: a trade goes where its time puts it (the snapshot's may be older than the rows),
// and not at all when the list is full of newer ones.
function showTrade(trade) {
  const filter = (tape.dataset.teamFilter || "").toLowerCase();
  if (filter && !trade.team.toLowerCase().includes(filter)) return; // the list is narrowed to a team
  if (tape.querySelector(`tr[data-trade="${CSS.escape(trade.id)}"]`)) return;
  tape.querySelector("tr.empty")?.remove();
  const at = Date.parse(trade.created_at);
  const rows = [...tape.querySelectorAll("tr[data-trade]")];
  const after = rows.find((row) => Date.parse(row.querySelector("time").dateTime) < at);
  const limit = Number(tape.dataset.limit) || 25;
  if (!after && rows.length >= limit) return;
  tape.insertBefore(tradeRow(trade), after || null);
  while (tape.children.length > limit) tape.lastElementChild.remove();
}

function tapeStatus(text) {
  const status = root.querySelector('[data-role="tape-status"]');
  if (status) status.textContent = text;
}

const tapeShown = Boolean(tape && rowTemplate);
const sheetPanel = document.getElementById("run-sheet");
const sheet = sheetPanel ? startRunSheet(sheetPanel, { timeZone: root?.dataset.timezone }) : null;
const directorPanel = document.getElementById("director");
const director = directorPanel ? startDirector(directorPanel, { timeZone: root?.dataset.timezone }) : null;

if (root && (tapeShown || sheet || director)) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  connectLive({
    url: `${scheme}//${location.host}/api/ws`,
    topics: root.dataset.topics,
    onSnapshot: (data) => {
      // The snapshot's latest trades, oldest first: any the page missed while offline.
      if (tapeShown) [...(data.trades || [])].reverse().forEach(showTrade);
      if (sheet && data.run_sheet) sheet.draw(data.run_sheet);
      if (director && data.scene) director.onAir(data.scene);
    },
    onEvent: (event) => {
      if (event.type === "trade" && tapeShown) showTrade(event.data);
      if (event.type === "run_sheet" && sheet) {
        sheet.draw(event.data);
        sheet.fired(event.data.fired);
      }
      if (event.type === "scene" && director) director.onAir(event.data);
    },
    onStatus: (online) => {
      if (tapeShown) {
        tapeStatus(
          online ? "New trades appear here as they happen." : "Reconnecting… new trades will appear when it is back.",
        );
      }
      sheet?.status(online);
      director?.status(online);
    },
  });
}

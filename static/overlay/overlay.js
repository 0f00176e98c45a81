// An OBS overlay page: its whole state comes from the snapshot, then from live events.

import { ringBell } from "./bell.js";
import { countdown, direction, groupThousands, money, signed } from "../shared/format.js";
import { connectLive } from "../shared/live.js";

const BANNER_MS = 6000;
const body = document.body;
const config = {
  widgets: new Set(body.dataset.widgets.split(" ")),
  topics: body.dataset.topics || "",
  token: body.dataset.token,
  limit: Number(body.dataset.limit) || 10,
  sound: body.dataset.sound === "1",
  timezone: body.dataset.timezone || "Asia/Jakarta",
  currency: body.dataset.currency || "",
};
const state = { market: null, companies: new Map(), leaderboard: [], news: [] };

const $ = (id) => document.getElementById(id);
const role = (root, name) => root.querySelector(`[data-role="${name}"]`);
const el = (tag, className, text) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};

for (const widget of config.widgets) $(widget).hidden = widget === "bell"; // the bell shows on a bell

// Clock, market status and countdown

const clockFormat = new Intl.DateTimeFormat("en-GB", {
  timeZone: config.timezone,
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

function renderStatus() {
  if (!config.widgets.has("status")) return;
  const root = $("status");
  role(root, "clock").textContent = clockFormat.format(new Date());
  const market = state.market;
  const label = role(root, "market");
  if (!market) {
    label.textContent = "";
    return;
  }
  const open = market.status === "open";
  label.className = "market " + (open ? "open" : "closed");
  label.textContent = (market.day ? `Day ${market.day} · ` : "") + (open ? "Trading open" : "Trading closed");
  role(root, "countdown").textContent = open && market.closes_at ? "closes in " + countdown(market.closes_at) : "";
}

// Ticker tape

function renderTicker() {
  if (!config.widgets.has("ticker")) return;
  const tape = role($("ticker"), "tape");
  const quotes = [...state.companies.values()].filter((c) => c.is_active !== false);
  const drawn = quotes.map((company) => {
    const quote = el("span", "quote " + direction(company.change));
    quote.dataset.ticker = company.ticker;
    quote.append(
      el("span", "symbol", company.ticker),
      el("span", "price", groupThousands(company.price)),
      el("span", "change", `${signed(company.change_pct)}%`),
    );
    return quote;
  });
  const copy = drawn.map((quote) => {
    const twin = quote.cloneNode(true);
    twin.setAttribute("aria-hidden", "true");
    return twin;
  });
  tape.replaceChildren(...drawn, ...copy);
  tape.style.setProperty("--tape-seconds", `${Math.max(20, quotes.length * 5)}s`);
}

// Leaderboard

function renderLeaderboard() {
  if (!config.widgets.has("leaderboard")) return;
  const list = role($("leaderboard"), "entries");
  list.replaceChildren(
    ...state.leaderboard.slice(0, config.limit).map((entry) => {
      const row = el("li");
      const team = el("span", "team", entry.display_name);
      if (entry.school) team.append(el("span", "school", entry.school));
      const value = el("span", "value", money(entry.total_value, config.currency));
      value.append(el("span", "return " + direction(entry.return_pct), `${signed(entry.return_pct)}%`));
      row.append(el("span", "rank", String(entry.rank)), team, value);
      return row;
    }),
  );
}

// News lower-third

function renderNews(animate) {
  if (!config.widgets.has("news")) return;
  const root = $("news");
  const latest = state.news[0];
  root.hidden = !latest;
  if (!latest) return;
  role(root, "headline").textContent = latest.title;
  if (animate) {
    root.classList.add("entering");
    void root.offsetWidth; // restart the transition
    root.classList.remove("entering");
  }
}

// Bell banner

let bannerTimer = null;

function showBell(action, day) {
  if (!config.widgets.has("bell")) return;
  const root = $("bell");
  const banner = role(root, "banner");
  const open = action === "start_day";
  banner.className = "banner " + (open ? "open" : "closed");
  banner.textContent = `Day ${day} — trading ${open ? "open" : "closed"}`;
  root.hidden = false;
  root.classList.remove("fading");
  clearTimeout(bannerTimer);
  bannerTimer = setTimeout(() => {
    root.classList.add("fading");
    setTimeout(() => (root.hidden = true), 600);
  }, BANNER_MS);
  if (config.sound) ringBell();
}

// State from the wire

function applySnapshot(data) {
  // Only what the page's topics carry is in the snapshot.
  state.market = data.market;
  state.companies = new Map((data.companies || []).map((company) => [company.ticker, company]));
  state.leaderboard = data.leaderboard || [];
  state.news = data.news || [];
  renderStatus();
  renderTicker();
  renderLeaderboard();
  renderNews(false);
}

function applyEvent(event) {
  const data = event.data;
  switch (event.type) {
    case "bell":
      if (data.market) state.market = data.market;
      for (const company of data.companies || []) state.companies.set(company.ticker, company);
      renderStatus();
      if (data.companies) renderTicker();
      showBell(data.action, data.day);
      break;
    case "price":
      state.companies.set(data.ticker, { ...state.companies.get(data.ticker), ...data });
      renderTicker();
      break;
    case "leaderboard":
      state.leaderboard = data.entries;
      renderLeaderboard();
      break;
    case "news":
      state.news = [data, ...state.news.filter((item) => item.id !== data.id)];
      renderNews(true);
      break;
    default:
      break; // this page subscribes to nothing else
  }
}

const scheme = location.protocol === "https:" ? "wss:" : "ws:";
const live = connectLive({
  url: `${scheme}//${location.host}/api/ws?token=${encodeURIComponent(config.token)}`,
  topics: config.topics,
  onSnapshot: applySnapshot,
  onEvent: applyEvent,
  onStatus: (online) => {
    $("offline").hidden = online;
    body.dataset.online = online ? "1" : "0";
  },
});

setInterval(renderStatus, 1000);
renderStatus();

// OBS tells a browser source when it becomes visible or active again: re-sync then.
if (window.obsstudio) {
  window.addEventListener("obsSourceVisibleChanged", (event) => event.detail && event.detail.visible && live.resync());
  window.addEventListener("obsSourceActiveChanged", (event) => event.detail && event.detail.active && live.resync());
}
document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && live.resync());

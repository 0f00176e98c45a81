// The team pages, live: one socket (/api/ws) keeps prices, the market, news, the leaderboard and
// the team's own portfolio current without a reload. Every (re)connect starts with a snapshot,
// and the team's portfolio is fetched again then, so nothing missed while offline stays stale.

import { countdown, direction, groupThousands, money, signed } from "../shared/format.js";
import { connectLive } from "../shared/live.js";
import { priceChart, valueChart } from "./charts.js";
import { initTrade } from "./trade.js";

const body = document.body;
const config = {
  page: body.dataset.page,
  timezone: body.dataset.timezone || "Asia/Jakarta",
  currency: body.dataset.currency || "",
};
const state = { market: null, holdings: new Set(), prices: new Map(), portfolioAsOf: 0 };

const all = (selector, root = document) => [...root.querySelectorAll(selector)];
const role = (name, root = document) => root.querySelector(`[data-role="${name}"]`);
const cell = (tag, text, className) => {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
};
const setText = (node, text) => node && (node.textContent = text);
const onFirstPage = (node) => node && (node.dataset.pageNumber || "1") === "1";

// Clock and market status

const clockFormat = new Intl.DateTimeFormat("en-GB", {
  timeZone: config.timezone,
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});
const newsTimeFormat = new Intl.DateTimeFormat("en-GB", {
  timeZone: config.timezone,
  day: "numeric",
  month: "short",
  hour: "2-digit",
  minute: "2-digit",
});

function tick() {
  setText(role("clock"), clockFormat.format(new Date()));
  const left = role("countdown");
  if (left) left.textContent = left.dataset.closesAt ? `closes in ${countdown(left.dataset.closesAt)}` : "";
}

function renderMarket(market) {
  state.market = market;
  const open = market.status === "open";
  const label = role("market");
  if (label) {
    label.className = `market ${open ? "open" : "closed"}`;
    label.textContent = (market.day ? `Day ${market.day} · ` : "") + (open ? "Trading open" : "Trading closed");
  }
  const left = role("countdown");
  if (left) {
    if (open && market.closes_at) left.dataset.closesAt = market.closes_at;
    else delete left.dataset.closesAt;
  }
  const closed = role("closed-notice");
  if (closed) closed.hidden = open;
  tick();
}

// Prices

let chart = null;
let trade = null;

function renderQuote(company, { live }) {
  state.prices.set(company.ticker, company.price);
  for (const holder of all(`[data-quote="${CSS.escape(company.ticker)}"]`)) {
    const before = holder.querySelector("[data-field=price]")?.textContent;
    setText(holder.querySelector("[data-field=price]"), groupThousands(company.price));
    for (const name of ["change", "change_pct"]) {
      const node = holder.querySelector(`[data-field=${name}]`);
      if (!node) continue;
      node.textContent = signed(company[name]) + (name === "change_pct" ? "%" : "");
      node.className = node.className.replace(/\b(up|down|flat)\b/g, "").trim() + " " + direction(company[name]);
    }
    if (live && holder.tagName === "TR" && before !== groupThousands(company.price)) {
      holder.classList.remove("flash-up", "flash-down");
      void holder.offsetWidth; // restart the animation
      holder.classList.add(direction(company.change) === "down" ? "flash-down" : "flash-up");
    }
  }
  if (trade) trade.quote(company);
}

// News

function newsItem(item) {
  const row = cell("li");
  row.dataset.news = item.id;
  const link = cell("a", item.title);
  link.href = `/news/${item.id}/`;
  const when = cell("time", newsTimeFormat.format(new Date(item.published_at)).replace(",", ""));
  when.dateTime = item.published_at;
  row.append(link, " ", when);
  return row;
}

function addNews(item, { fresh }) {
  const feed = role("news-feed");
  if (!onFirstPage(feed) || feed.querySelector(`[data-news="${CSS.escape(item.id)}"]`)) return;
  role("news-empty", feed)?.remove();
  const row = newsItem(item);
  if (fresh) row.classList.add("fresh");
  feed.prepend(row);
  const limit = Number(feed.dataset.limit) || 0;
  while (limit && feed.children.length > limit) feed.lastElementChild.remove();
}

// The team's portfolio

let valueLine = null;

function renderPortfolio(data) {
  // A fetch that started before the team's last trade may answer after its live event: keep the newer.
  const asOf = Date.parse(data.as_of) || 0;
  if (asOf < state.portfolioAsOf) return;
  state.portfolioAsOf = asOf;
  state.holdings = new Set(data.holdings.map((holding) => holding.ticker));
  setText(role("team-cash"), money(data.cash, config.currency));
  setText(role("team-value"), money(data.total_value, config.currency));
  setText(role("team-rank"), String(data.rank));
  const summary = role("portfolio-summary");
  if (summary) {
    for (const name of ["cash", "holdings_value", "total_value"]) {
      setText(summary.querySelector(`[data-field=${name}]`), money(data[name], config.currency));
    }
    const result = summary.querySelector("[data-field=return_pct]");
    result.textContent = `${signed(data.return_pct)}%`;
    result.className = `num change ${direction(data.return_pct)}`;
    setText(summary.querySelector("[data-field=rank]"), String(data.rank));
  }
  const rows = role("holdings");
  if (rows) rows.replaceChildren(...holdingRows(data.holdings));
  if (valueLine) valueLine.now(data.total_value);
  if (trade) trade.portfolio(data);
}

function holdingRows(holdings) {
  if (!holdings.length) {
    const row = cell("tr", undefined, "empty");
    const only = cell("td");
    only.colSpan = 7;
    const link = cell("a", "Place your first order");
    link.href = "/trade/";
    only.append("No shares yet. ", link, ".");
    row.append(only);
    return [row];
  }
  return holdings.map((holding) => {
    const row = cell("tr");
    row.dataset.holding = holding.ticker;
    const name = cell("th");
    name.scope = "row";
    name.append(cell("span", holding.ticker, "ticker"), " ", cell("span", holding.name, "name"));
    const sell = cell("a", "Sell", "button small secondary");
    sell.href = `/trade/?company=${encodeURIComponent(holding.ticker)}&side=sell`;
    const action = cell("td");
    action.append(sell);
    row.append(
      name,
      cell("td", groupThousands(holding.quantity), "num"),
      cell("td", groupThousands(holding.average_cost), "num"),
      cell("td", groupThousands(holding.price), "num"),
      cell("td", groupThousands(holding.value), "num"),
      cell("td", signed(holding.unrealized_pl), `num change ${direction(holding.unrealized_pl)}`),
      action,
    );
    return row;
  });
}

async function getJSON(url) {
  let response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  } catch {
    return null; // offline: the next snapshot fetches again
  }
  if (response.status === 401 || response.status === 403) {
    signedOut();
    return null;
  }
  return response.ok ? response.json() : null;
}

async function refreshPortfolio() {
  const data = await getJSON("/api/portfolio");
  if (data) renderPortfolio(data);
}

// A price change moves the value of every team holding the stock: each fetches its portfolio
// again, spread over a second and a half so a thousand screens do not ask at the same instant.
let refreshTimer = null;
function refreshPortfolioSoon() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    refreshPortfolio();
  }, 200 + Math.random() * 1300);
}

// History (first page) and leaderboard (first page)

const tradeTimeFormat = new Intl.DateTimeFormat("en-GB", {
  timeZone: config.timezone,
  day: "numeric",
  month: "short",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

async function refreshHistory() {
  const table = role("trades");
  if (!onFirstPage(table)) return;
  const data = await getJSON("/api/transactions");
  if (!data) return;
  const rows = data.results.slice(0, 25).map((trade) => {
    const row = cell("tr");
    const when = cell("time", tradeTimeFormat.format(new Date(trade.created_at)).replace(",", ""));
    when.dateTime = trade.created_at;
    const time = cell("td");
    time.append(when);
    const side = cell("td");
    side.append(cell("span", trade.type === "buy" ? "Buy" : "Sell", `side ${trade.type}`));
    if (trade.reversed_at) {
      side.append(" ", cell("span", "reversed", "tag"));
      row.className = "reversed";
    }
    row.append(
      time,
      cell("td", String(trade.day)),
      side,
      cell("td", trade.ticker),
      cell("td", groupThousands(trade.quantity), "num"),
      cell("td", groupThousands(trade.price), "num"),
      cell("td", groupThousands(trade.total), "num"),
      cell("td", groupThousands(trade.fee), "num"),
    );
    return row;
  });
  if (rows.length) role("trade-rows").replaceChildren(...rows);
}

function renderLeaderboard(entries) {
  const own = role("team-name")?.textContent;
  const rows = entries.map((entry) => {
    const row = cell("tr");
    const team = cell("td", entry.display_name);
    if (entry.display_name === own) {
      row.className = "own";
      row.setAttribute("aria-current", "true");
      team.append(" ", cell("span", "you", "tag"));
    }
    row.append(
      cell("td", String(entry.rank), "num"),
      team,
      cell("td", entry.school),
      cell("td", money(entry.total_value, config.currency), "num"),
      cell("td", `${signed(entry.return_pct)}%`, `num change ${direction(entry.return_pct)}`),
      cell("td", groupThousands(entry.trades), "num"),
    );
    return row;
  });
  if (rows.length) role("leaderboard-rows").replaceChildren(...rows);
}

// The leaderboard page's first page is fetched again after a change (events carry only the top
// ten): at most every few seconds, spread so that a room of screens does not ask at once.
const LEADERBOARD_EVERY_MS = 3000;
let leaderboardTimer = null;
let leaderboardAt = 0;
function refreshLeaderboardSoon() {
  if (!onFirstPage(role("leaderboard")) || leaderboardTimer) return;
  const wait = Math.max(0, leaderboardAt + LEADERBOARD_EVERY_MS - Date.now()) + Math.random() * 1500;
  leaderboardTimer = setTimeout(async () => {
    leaderboardTimer = null;
    leaderboardAt = Date.now();
    const data = await getJSON("/api/leaderboard");
    if (data) renderLeaderboard(data.results);
  }, wait);
}

// The wire

function applySnapshot(data) {
  renderMarket(data.market);
  for (const company of data.companies) renderQuote(company, { live: false });
  for (const item of [...data.news].reverse()) addNews(item, { fresh: false });
  refreshLeaderboardSoon();
  refreshPortfolio(); // anything the team did or missed while offline
  if (config.page === "history") refreshHistory();
}

function applyEvent(event) {
  const data = event.data;
  switch (event.type) {
    case "bell":
      if (data.market) renderMarket(data.market);
      for (const company of data.companies || []) renderQuote(company, { live: false });
      if (chart && state.prices.has(chart.ticker)) chart.bell(data.action, data.day, state.prices.get(chart.ticker), event.at);
      break;
    case "price":
      renderQuote(data, { live: true });
      if (chart && chart.ticker === data.ticker) chart.add(data.price, event.at, state.market?.status === "open");
      if (state.holdings.has(data.ticker)) refreshPortfolioSoon();
      break;
    case "news":
      addNews(data, { fresh: true });
      break;
    case "portfolio":
      renderPortfolio(data);
      if (config.page === "history") refreshHistory();
      break;
    case "leaderboard":
      refreshLeaderboardSoon();
      break;
    default:
      break; // other teams' trades are not shown on these pages
  }
}

function signedOut() {
  // The session ended (signed out elsewhere, password changed): sign in again, then come back.
  location.assign(`/signin/?next=${encodeURIComponent(location.pathname + location.search)}`);
}

// Start

const form = document.getElementById("trade-form");
if (form) trade = initTrade(form, config);

const priceCanvas = document.getElementById("price-chart");
if (priceCanvas) {
  const drawn = priceChart(priceCanvas, JSON.parse(document.getElementById("chart-data").textContent), config);
  chart = { ...drawn, ticker: priceCanvas.dataset.ticker };
  for (const button of all("[data-range]")) {
    button.addEventListener("click", () => {
      for (const other of all("[data-range]")) other.setAttribute("aria-pressed", String(other === button));
      drawn.show(button.dataset.range);
    });
  }
}
const valueCanvas = document.getElementById("value-chart");
if (valueCanvas) valueLine = valueChart(valueCanvas, JSON.parse(document.getElementById("value-data").textContent));

const scheme = location.protocol === "https:" ? "wss:" : "ws:";
connectLive({
  url: `${scheme}//${location.host}/api/ws`,
  onSnapshot: applySnapshot,
  onEvent: applyEvent,
  onStatus: (online) => {
    document.getElementById("offline").hidden = online;
    body.dataset.online = online ? "1" : "0";
  },
  onRefused: (code) => {
    if (code === 4401) {
      signedOut();
      return;
    }
    const banner = document.getElementById("offline");
    banner.textContent = "Live updates are refused for this page. Reload it; if this stays, ask the organisers.";
    banner.hidden = false;
  },
});

setInterval(tick, 1000);
tick();

// The team pages, live: one socket (/api/ws), subscribed to the topics the page shows
// (`data-topics`), keeps prices, the market, news, the leaderboard and the team's own portfolio
// current without a reload. Every (re)connect starts with a snapshot carrying all of it, the
// team's portfolio and open orders included. No event makes the page ask the server for anything:
// a price change revalues the team's holdings here (valuation.js), its rank follows as a `rank`
// event, its own trades come with their `portfolio` event, its orders with their `order` event.

import { countdown, direction, groupThousands, money, signed } from "../shared/format.js";
import { connectLive } from "../shared/live.js";
import { priceChart, valueChart } from "./charts.js";
import { initHistory } from "./history.js";
import { initOpenOrders } from "./orders.js";
import { initTrade } from "./trade.js";
import { revalue } from "./valuation.js";

const body = document.body;
const config = {
  page: body.dataset.page,
  topics: body.dataset.topics || "",
  timezone: body.dataset.timezone || "Asia/Jakarta",
  currency: body.dataset.currency || "",
};
// `priceAt`: when each ticker's price was last announced, to tell whether a portfolio read before
// it (its `as_of`) still shows the older price.
const state = { market: null, portfolio: null, prices: new Map(), priceAt: new Map(), portfolioAsOf: 0, synced: false };

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
let openOrders = null;
let tradeHistory = null;

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
  // Events of the team's own group and of the market's may cross: keep the newer portfolio, and
  // show its holdings at any price announced after it was read.
  const asOf = Date.parse(data.as_of) || 0;
  if (asOf < state.portfolioAsOf) return;
  state.portfolioAsOf = asOf;
  const newer = [...state.prices].filter(([ticker]) => (state.priceAt.get(ticker) || 0) > asOf);
  state.portfolio = revalue(data, new Map(newer));
  drawPortfolio(state.portfolio);
}

function repricePortfolio(ticker, price) {
  if (!state.portfolio) return;
  const priced = revalue(state.portfolio, new Map([[ticker, price]]));
  if (priced === state.portfolio) return; // not held
  state.portfolio = priced;
  drawPortfolio(priced);
}

function renderRank(rank) {
  if (state.portfolio) state.portfolio = { ...state.portfolio, rank };
  setText(role("team-rank"), String(rank));
  setText(role("portfolio-summary")?.querySelector("[data-field=rank]"), String(rank));
}

// Cash, and when open orders hold some of it, what is free: in the header, on the trade page and
// in the portfolio's summary.
function drawCash(data) {
  const held = /[1-9]/.test(data.reserved_cash || "0");
  const show = (name, amount) => {
    for (const node of all(`[data-role="${name}"]`)) node.textContent = money(amount, config.currency);
  };
  show("team-cash", data.cash);
  show("team-available", data.available_cash ?? data.cash);
  show("team-reserved", data.reserved_cash ?? "0.00");
  for (const node of all('[data-role="team-available-item"], [data-role="cash-held-note"]')) node.hidden = !held;
}

function drawPortfolio(data) {
  drawCash(data);
  setText(role("team-value"), money(data.total_value, config.currency));
  setText(role("team-rank"), String(data.rank));
  const summary = role("portfolio-summary");
  if (summary) {
    for (const name of ["cash", "holdings_value", "total_value", "available_cash", "reserved_cash"]) {
      if (data[name] === undefined) continue;
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
    const shares = cell("td", groupThousands(holding.quantity), "num");
    if (holding.reserved_quantity) {
      shares.append(cell("span", `${groupThousands(holding.reserved_quantity)} held by orders`, "held-note"));
    }
    row.append(
      name,
      shares,
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

// The leaderboard page's first places come from the `leaderboard` event (the top ten); the places
// below, as drawn with the page, stay as they were, under a line that says so.
function leaderboardRow(entry, own) {
  const row = cell("tr");
  row.dataset.rank = String(entry.rank);
  row.dataset.team = entry.display_name;
  row.dataset.live = "1";
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
}

// The rows the page was drawn with, kept: a team that leaves the live top ten goes back among them.
let loadedRows = null;

function renderLeaderboard(entries) {
  const table = role("leaderboard");
  if (!entries.length || !onFirstPage(table)) return;
  const rows = role("leaderboard-rows");
  loadedRows ??= [...rows.querySelectorAll("tr[data-rank]")];
  const own = role("team-name")?.textContent;
  const live = entries.map((entry) => leaderboardRow(entry, own));
  const named = new Set(entries.map((entry) => entry.display_name));
  const below = loadedRows.filter((row) => !named.has(row.dataset.team));
  for (const row of below) {
    // Drawn in the top ten and out of it now: its place then says nothing; its place now is unknown.
    const place = row.firstElementChild;
    const stale = Number(row.dataset.rank) <= entries.length;
    place.textContent = stale ? "—" : row.dataset.rank;
    place.title = stale ? `Place ${row.dataset.rank} when the page was loaded` : "";
  }
  const divider = cell("tr", undefined, "divider");
  const note = cell("td", `Above: the top ${entries.length}, live. Below: the places when this page was loaded; reload for the latest.`);
  note.colSpan = 6;
  divider.append(note);
  rows.replaceChildren(...live, ...(below.length ? [divider, ...below] : []));
}

// The wire

function applySnapshot(data) {
  renderMarket(data.market);
  for (const company of data.companies || []) renderQuote(company, { live: false });
  for (const item of [...(data.news || [])].reverse()) addNews(item, { fresh: false });
  if (data.leaderboard) renderLeaderboard(data.leaderboard);
  if (data.portfolio) {
    const changed = (Date.parse(data.portfolio.as_of) || 0) > state.portfolioAsOf;
    renderPortfolio(data.portfolio);
    if (changed && state.synced && tradeHistory) tradeHistory.refresh(getJSON); // traded while offline
  }
  if (data.orders && openOrders) openOrders.snapshot(data.orders);
  state.synced = true;
}

function applyEvent(event) {
  const data = event.data;
  switch (event.type) {
    case "bell":
      if (data.market) renderMarket(data.market);
      for (const company of data.companies || []) {
        renderQuote(company, { live: false });
        state.priceAt.set(company.ticker, Date.parse(event.at) || 0);
        repricePortfolio(company.ticker, company.price);
      }
      if (chart && state.prices.has(chart.ticker)) chart.bell(data.action, data.day, state.prices.get(chart.ticker), event.at);
      break;
    case "price":
      renderQuote(data, { live: true });
      state.priceAt.set(data.ticker, Date.parse(event.at) || 0);
      if (chart && chart.ticker === data.ticker) chart.add(data.price, event.at, state.market?.status === "open");
      repricePortfolio(data.ticker, data.price);
      break;
    case "news":
      addNews(data, { fresh: true });
      break;
    case "portfolio":
      renderPortfolio(data);
      if (openOrders) openOrders.trade(data.transaction);
      if (tradeHistory) tradeHistory.show(data.transaction);
      break;
    case "order":
      if (openOrders) openOrders.order(data);
      if (tradeHistory) tradeHistory.order(data);
      break;
    case "rank":
      renderRank(data.rank);
      break;
    case "leaderboard":
      renderLeaderboard(data.entries);
      break;
    default:
      break; // this page subscribes to nothing else
  }
}

function signedOut() {
  // The session ended (signed out elsewhere, password changed): sign in again, then come back.
  location.assign(`/signin/?next=${encodeURIComponent(location.pathname + location.search)}`);
}

// Start

const form = document.getElementById("trade-form");
if (form) trade = initTrade(form, config);
const orderRows = role("open-orders");
if (orderRows) openOrders = initOpenOrders(orderRows, config);
const trades = role("trades");
if (trades) tradeHistory = initHistory(trades, config);

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
  topics: config.topics,
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

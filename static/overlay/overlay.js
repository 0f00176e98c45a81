// An OBS overlay page: its whole state comes from the snapshot, then from live events.
//
// The full scene (/overlay/) also shows the director's scene (SPEC §8): the `scene` of its snapshot,
// then each `scene` event, `{scene, options, taken_at, data}` (organisers/director/scenes.py says
// what each scene's `data` holds). `market` is the page's own layout; the others are drawn from
// their `data` alone, so a podium place not yet revealed is nowhere in the page.
//
// Preview (/overlay/?token=…&preview=1), for the control room's director panel, which shows this
// page in a same-origin <iframe>, scaled:
//   - The page draws exactly as the full scene does, but not the live `scene` events: it draws the
//     scene its parent window sends it,
//       iframe.contentWindow.postMessage(
//         {type: "brainstorm-scene-preview", scene: {scene, options, taken_at, data}}, location.origin)
//     (`scene` is the payload GET /api/admin/scene answers, or a scene event's data). A message from
//     another origin (event.origin !== location.origin), of another type, or naming an unknown
//     scene is ignored. A second message replaces the first (a podium place newly revealed in it
//     animates in, as on the stream).
//   - Until a message arrives, it shows the current scene from its snapshot; after one, a
//     reconnection's snapshot no longer replaces it.
//   - Market data, the leaderboard, news and bells stay live. The bell makes no sound.
//   - Once its script runs it tells its parent `{type: "brainstorm-scene-preview-ready"}` (same
//     origin only): a panel may wait for it, or post on the iframe's load event, which comes after.
//   - Only a page of the same site may frame it (X-Frame-Options SAMEORIGIN, frame-ancestors
//     'self'; overlay/views.py); `&theme=light` works as on the stream.
// On both, <body data-scene> names the scene shown and <body data-settled> is "0" during its
// cross-fade, "1" once it is over.

import { ringBell } from "./bell.js";
import { countdown, direction, groupThousands, money, signed } from "../shared/format.js";
import { connectLive } from "../shared/live.js";

const BANNER_MS = 6000;
const PREVIEW_MESSAGE = "brainstorm-scene-preview";
const SCENES = ["market", "leaderboard", "news", "countdown", "movers", "schools", "podium"];
const LIVE_LEADERBOARD = 10; // a `leaderboard` event carries the first ten
const body = document.body;
const config = {
  widgets: new Set(body.dataset.widgets.split(" ")),
  topics: body.dataset.topics || "",
  token: body.dataset.token,
  limit: Number(body.dataset.limit) || 10,
  preview: body.dataset.preview === "1",
  sound: body.dataset.sound === "1" && body.dataset.preview !== "1",
  timezone: body.dataset.timezone || "Asia/Jakarta",
  currency: body.dataset.currency || "",
};
config.directed = config.topics.split(",").includes("scene");
const state = { market: null, companies: new Map(), leaderboard: [], news: [] };

const $ = (id) => document.getElementById(id);
const role = (root, name) => root.querySelector(`[data-role="${name}"]`);
const el = (tag, className, text) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};
const percentage = (amount) => `${signed(amount)}%`;

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
      el("span", "change", percentage(company.change_pct)),
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
  if (config.directed && director.scene !== "market") {
    // Another scene is on: the small leaderboard is not drawn (the podium's places stay unknown).
    if (!director.fading) list.replaceChildren();
    return;
  }
  list.replaceChildren(
    ...state.leaderboard.slice(0, config.limit).map((entry) => {
      const row = el("li");
      const team = el("span", "team", entry.display_name);
      if (entry.school) team.append(el("span", "school", entry.school));
      const value = el("span", "value", money(entry.total_value, config.currency));
      value.append(el("span", "return " + direction(entry.return_pct), percentage(entry.return_pct)));
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

// The director's scenes

const director = {
  scene: "market", // the scene shown (or coming in)
  payload: null,
  previewed: false, // preview: a scene came from the parent window, the snapshot's no longer counts
  fading: false,
  generation: 0,
  podium: new Map(), // place → name drawn, to animate only a place newly revealed
};

const section = (scene) => document.querySelector(`#director .scene[data-scene="${scene}"]`);

function fadeMs() {
  // The cross-fade's length is the style sheet's (shorter with prefers-reduced-motion).
  const value = getComputedStyle(document.documentElement).getPropertyValue("--fade").trim();
  return value.endsWith("ms") ? parseFloat(value) : parseFloat(value) * 1000 || 0;
}

function showScene(payload) {
  if (!payload || !SCENES.includes(payload.scene)) payload = { scene: "market", options: {}, data: {} };
  payload = { ...payload, options: payload.options || {}, data: payload.data || {} };
  const previous = director.payload;
  const before = previous ? director.scene : null;
  director.payload = payload;
  director.scene = payload.scene;
  body.dataset.scene = payload.scene;
  if (before === payload.scene) {
    // Taken again (or a reconnection's snapshot): redrawn in place, eased in only if it changed.
    const same = JSON.stringify([previous.options, previous.data]) === JSON.stringify([payload.options, payload.data]);
    draw(payload, !same);
    return;
  }
  // A cross-fade: the scene taken comes in while the one before goes out, then is emptied.
  if (payload.scene !== "market") draw(payload, false);
  const coming = section(payload.scene);
  if (coming) {
    coming.hidden = false;
    void coming.offsetWidth; // start the fade from transparent
    coming.classList.add("shown");
  }
  const going = before && section(before);
  if (going) going.classList.remove("shown");
  if (payload.scene === "market") renderLeaderboard();
  const generation = ++director.generation;
  director.fading = true;
  body.dataset.settled = "0";
  setTimeout(() => {
    if (generation !== director.generation) return; // another take came meanwhile: its own timer ends it
    director.fading = false;
    for (const scene of document.querySelectorAll("#director .scene")) {
      if (scene.dataset.scene !== director.scene) {
        scene.hidden = true;
        scene.classList.remove("shown");
        clear(scene.dataset.scene);
      }
    }
    renderLeaderboard();
    body.dataset.settled = "1";
  }, fadeMs() + 50); // just after the style sheet's own transitions end
}

function draw(payload, again) {
  const drawers = {
    leaderboard: drawLeaderboard,
    news: drawNews,
    countdown: drawCountdown,
    movers: drawMovers,
    schools: drawSchools,
    podium: drawPodium,
  };
  const drawer = drawers[payload.scene];
  if (!drawer) return;
  drawer(payload.data, payload.options, again);
  if (again && payload.scene !== "podium") {
    // The same scene taken again with other options or data: its content eases in.
    const root = section(payload.scene);
    root.classList.remove("swapping");
    void root.offsetWidth;
    root.classList.add("swapping");
  }
}

function clear(scene) {
  const root = section(scene);
  root.classList.remove("swapping"); // or its ease-in would play again when it next comes in
  for (const list of root.querySelectorAll("[data-role]")) list.replaceChildren();
  if (scene === "podium") director.podium.clear();
}

function sized(list, count, columns = 1) {
  // Large rows for a few, smaller ones for many: the style sheet sizes rows by these.
  const shown = Math.max(count, 1);
  const cols = Math.min(columns, shown <= 10 ? 1 : shown <= 34 ? 2 : 3);
  const rows = Math.ceil(shown / cols);
  list.style.setProperty("--rows", String(Math.max(rows, 5)));
  list.style.setProperty("--cols", String(cols));
  list.classList.toggle("dense", shown > 10);
  return rows;
}

// Leaderboard, full screen: the first N; the first ten follow the live leaderboard while shown.

function drawLeaderboard(data, options) {
  const root = section("leaderboard");
  const entries = data.entries || [];
  role(root, "aside").textContent = `Top ${options.top || entries.length}`;
  const list = role(root, "entries");
  const rows = sized(list, entries.length, 3);
  list.replaceChildren(
    ...entries.map((entry, index) => {
      const row = el("li", entry.rank <= 3 ? `top top-${entry.rank}` : "");
      row.classList.toggle("first", index % rows === 0); // heads a column: no rule above it
      const team = el("span", "team");
      team.append(el("span", "name", entry.display_name));
      if (entry.school) team.append(el("span", "school", entry.school));
      row.append(
        el("span", "rank", String(entry.rank)),
        team,
        el("span", "value", money(entry.total_value, config.currency)),
        el("span", "return " + direction(entry.return_pct), percentage(entry.return_pct)),
      );
      return row;
    }),
  );
  if (!entries.length) list.append(el("li", "empty", "No teams yet"));
}

function followLeaderboard(entries) {
  const payload = director.payload;
  if (!payload || payload.scene !== "leaderboard") return;
  const top = payload.options.top || (payload.data.entries || []).length || LIVE_LEADERBOARD;
  const fresh = entries.slice(0, Math.min(top, LIVE_LEADERBOARD));
  const names = new Set(fresh.map((entry) => entry.display_name));
  const rest = (payload.data.entries || []).slice(fresh.length).filter((entry) => !names.has(entry.display_name));
  payload.data = { ...payload.data, entries: [...fresh, ...rest].slice(0, top) };
  drawLeaderboard(payload.data, payload.options);
}

// News, full screen

const newsTime = new Intl.DateTimeFormat("en-GB", { timeZone: config.timezone, hour: "2-digit", minute: "2-digit" });

function drawNews(data) {
  const root = section("news");
  const item = data.news;
  role(root, "title").textContent = item ? item.title : "No news to show";
  role(root, "content").textContent = item ? item.content || "" : "";
  role(root, "when").textContent = item && item.published_at ? newsTime.format(new Date(item.published_at)) : "";
}

// Countdown to the next bell, or to a time

const dayFormat = new Intl.DateTimeFormat("en-GB", { timeZone: config.timezone, dateStyle: "full" });
const atFormat = new Intl.DateTimeFormat("en-GB", {
  timeZone: config.timezone,
  weekday: "short",
  day: "numeric",
  month: "short",
  hour: "2-digit",
  minute: "2-digit",
});

function drawCountdown(data) {
  const root = section("countdown");
  role(root, "title").textContent = data.title || "";
  tickCountdown();
  if (!data.to) {
    role(root, "at").textContent = "";
    return;
  }
  const at = new Date(data.to);
  const today = dayFormat.format(at) === dayFormat.format(new Date());
  role(root, "at").textContent = "at " + (today ? newsTime.format(at) : atFormat.format(at));
}

// A countdown to the bell ends when the bell rings (whatever its time was): it says so until the
// director takes another scene, instead of standing at 0:00.
function bellRang(action) {
  const payload = director.payload;
  if (!payload || payload.scene !== "countdown" || !payload.data.bell) return;
  payload.data.rang = action === "start_day" ? "Trading is open" : "Trading is closed";
  role(section("countdown"), "at").textContent = "";
  tickCountdown();
}

function rungBefore(data) {
  if (!data.bell || !state.market) return "";
  if (data.bell === "open" && state.market.status === "open") return "Trading is open";
  if (data.bell === "close" && state.market.status === "closed") return "Trading is closed";
  return "";
}

function tickCountdown() {
  const payload = director.payload;
  if (!payload || payload.scene !== "countdown") return;
  const left = role(section("countdown"), "left");
  // Rung while the page was open, or (a page loaded after it, perhaps rung early by hand) the
  // market is as that bell leaves it.
  const rang = payload.data.rang || rungBefore(payload.data);
  if (rang) {
    left.classList.remove("unknown");
    left.textContent = rang;
    return;
  }
  const to = payload.data.to;
  left.classList.toggle("unknown", !to);
  left.textContent = to ? countdown(to) : "Next bell to be announced";
}

// Movers: the day's biggest gainers and losers

function drawMovers(data) {
  const root = section("movers");
  for (const [name, empty] of [
    ["gainers", "No company has gained yet"],
    ["losers", "No company has fallen yet"],
  ]) {
    const list = role(root, name);
    const companies = data[name] || [];
    sized(list, Math.max((data.gainers || []).length, (data.losers || []).length));
    list.replaceChildren(
      ...companies.map((company) => {
        const row = el("li");
        row.dataset.ticker = company.ticker;
        const who = el("span", "company");
        who.append(el("span", "symbol", company.ticker), el("span", "name", company.name || ""));
        row.append(
          who,
          el("span", "price", groupThousands(company.price)), // a share's price, as on the tape
          el("span", "change " + direction(company.change_pct), percentage(company.change_pct)),
        );
        return row;
      }),
    );
    if (!companies.length) list.append(el("li", "empty", empty));
  }
}

// Schools' standings

function drawSchools(data) {
  const rows = role(section("schools"), "rows");
  const schools = data.schools || [];
  sized(rows, schools.length);
  rows.replaceChildren(
    ...schools.map((school) => {
      const row = el("div", "row");
      const best = el("span", "best");
      if (school.best_team) {
        best.append(
          el("span", "name", school.best_team.display_name),
          el("span", "return " + direction(school.best_team.return_pct), percentage(school.best_team.return_pct)),
        );
      }
      row.append(
        el("span", "rank", String(school.rank)),
        el("span", "school", school.school),
        el("span", "teams", String(school.teams)),
        el("span", "average " + direction(school.average_return_pct), percentage(school.average_return_pct)),
        el("span", "combined " + direction(school.combined_return_pct), percentage(school.combined_return_pct)),
        best,
      );
      return row;
    }),
  );
  if (!schools.length) rows.append(el("div", "row empty", "No school has a team yet"));
}

// The podium: second, first and third side by side; a place is drawn only once revealed.

const ORDINAL = { 1: "1st", 2: "2nd", 3: "3rd" };

function drawPodium(data, options, again) {
  const root = role(section("podium"), "places");
  const count = Math.min(Number(data.count) || 0, 3);
  const places = new Map((data.places || []).map((entry) => [entry.place, entry]));
  const before = director.podium;
  const drawn = new Map();
  const slots = [2, 1, 3]
    .filter((place) => place <= count)
    .map((place) => {
      const entry = places.get(place);
      const slot = el("div", `slot place-${place} ${entry ? "revealed" : "covered"}`);
      slot.dataset.place = String(place);
      const card = el("div", "card");
      if (entry) {
        drawn.set(place, entry.display_name);
        if (again && before.get(place) !== entry.display_name) slot.classList.add("revealing");
        card.append(el("span", "name", entry.display_name));
        if (entry.school) card.append(el("span", "school", entry.school));
        card.append(
          el("span", "value", money(entry.total_value, config.currency)),
          el("span", "return " + direction(entry.return_pct), percentage(entry.return_pct)),
        );
      } else {
        card.append(el("span", "mystery", "?"));
      }
      slot.append(card, el("div", "step", ORDINAL[place]));
      return slot;
    });
  director.podium = drawn;
  root.replaceChildren(...slots);
  if (!count) root.append(el("p", "empty", "The results are coming"));
}

// State from the wire

function applySnapshot(data) {
  // Only what the page's topics carry is in the snapshot.
  state.market = data.market;
  state.companies = new Map((data.companies || []).map((company) => [company.ticker, company]));
  state.leaderboard = data.leaderboard || [];
  state.news = data.news || [];
  if (config.directed && !(config.preview && director.previewed)) showScene(data.scene);
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
      bellRang(data.action);
      break;
    case "price":
      state.companies.set(data.ticker, { ...state.companies.get(data.ticker), ...data });
      renderTicker();
      break;
    case "leaderboard":
      state.leaderboard = data.entries;
      renderLeaderboard();
      followLeaderboard(data.entries);
      break;
    case "news":
      state.news = [data, ...state.news.filter((item) => item.id !== data.id)];
      renderNews(true);
      break;
    case "scene":
      if (config.directed && !config.preview) showScene(data); // a preview draws what its panel sends
      break;
    default:
      break; // this page subscribes to nothing else
  }
}

if (config.directed && config.preview) {
  window.addEventListener("message", (event) => {
    if (event.origin !== location.origin) return;
    const message = event.data;
    if (!message || message.type !== PREVIEW_MESSAGE || !message.scene) return;
    if (!SCENES.includes(message.scene.scene)) return;
    director.previewed = true;
    showScene(message.scene);
  });
  if (window.parent !== window) window.parent.postMessage({ type: `${PREVIEW_MESSAGE}-ready` }, location.origin);
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

setInterval(() => {
  renderStatus();
  tickCountdown();
}, 1000);
renderStatus();

// OBS tells a browser source when it becomes visible or active again: re-sync then.
if (window.obsstudio) {
  window.addEventListener("obsSourceVisibleChanged", (event) => event.detail && event.detail.visible && live.resync());
  window.addEventListener("obsSourceActiveChanged", (event) => event.detail && event.detail.active && live.resync());
}
document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && live.resync());

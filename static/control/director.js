// The control room's director (SPEC §8): the scene chosen in the panel is previewed as the
// full-scene overlay will draw it (the overlay page itself, in preview mode, scaled down in an
// iframe and handed the scene's payload from the server with postMessage), taken without leaving
// the page, and the scene on air is named from the snapshot and every `scene` event (topic
// `scene`) in the words the server drew it with (organisers/control_room/director.py). Without
// this script the forms post and come back with a message, and there is no preview.

const PREVIEW_MESSAGE = "brainstorm-scene-preview";
const TYPING_PAUSE_MS = 300;
// The preview's figures (standings, movers) move with the market: asked for again this often.
const REFRESH_MS = 10000;
const STAGE_WIDTH = 1920;
const LABELS = {
  market: "Market",
  leaderboard: "Leaderboard",
  news: "News",
  countdown: "Countdown",
  movers: "Movers",
  schools: "Schools",
  podium: "Podium",
};
const PLACES = { 1: "first", 2: "second", 3: "third" };

function and(words) {
  return words.length === 1 ? words[0] : `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
}

export function podiumState(data) {
  if (!data.count) return "no teams yet";
  const shown = (data.places || []).map((place) => PLACES[place.place] || String(place.place));
  return shown.length ? `${and(shown)} revealed` : "every place covered";
}

export function describe(payload, clock = (iso) => iso) {
  const options = payload.options || {};
  const data = payload.data || {};
  const label = LABELS[payload.scene] || payload.scene;
  switch (payload.scene) {
    case "leaderboard":
    case "schools":
      return `${label}, top ${options.top ?? 10}`;
    case "movers":
      return `${label}, ${options.count ?? 5} each way`;
    case "news":
      return data.news ? `${label}: “${data.news.title}”` : `${label}: the item is no longer published`;
    case "countdown": {
      const title = data.title || "no title";
      return data.to ? `${label} to ${clock(data.to)}: ${title}` : `${label}: ${title} (no bell is scheduled)`;
    }
    case "podium":
      return `${label}: ${podiumState(data)}`;
    default:
      return label;
  }
}

// What "Reveal next place" does from the scene on air: the `revealed` it takes and the place it
// shows (third, second, first; fewer with fewer teams), or no place when none is left.
export function podiumNext(payload, count) {
  const revealed = payload.scene === "podium" ? payload.data.revealed || 0 : 0;
  const left = count - revealed;
  return { revealed: revealed + 1, place: left > 0 ? PLACES[left] : null, count };
}

export function startDirector(panel, { timeZone }) {
  const form = panel.querySelector("form[data-director-form]");
  const preview = panel.querySelector('[data-role="preview"]');
  const frame = preview.querySelector("iframe");
  const box = panel.querySelector('[data-role="preview-frame"]');
  const previewState = panel.querySelector('[data-role="preview-state"]');
  const said = panel.querySelector('[data-role="director-said"]');
  const field = (name) => panel.querySelector(`[data-field="${name}"]`);
  const format = (options) =>
    new Intl.DateTimeFormat("en-GB", { timeZone: timeZone || undefined, hourCycle: "h23", ...options });
  const hours = format({ hour: "2-digit", minute: "2-digit" });
  const seconds = format({ hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const clock = (iso) => hours.format(new Date(iso));

  // The preview: the overlay page draws what it is handed, nothing else.

  let latest = null; // the payload the preview shows
  let asked = 0; // answers to older questions are dropped
  let typing = null;

  function handOver() {
    if (latest && frame.contentWindow) {
      frame.contentWindow.postMessage({ type: PREVIEW_MESSAGE, scene: latest }, location.origin);
    }
  }

  function showErrors(errors) {
    for (const element of form.querySelectorAll("[data-error-for]")) {
      const name = element.dataset.errorFor;
      element.textContent = (errors[name] || [])[0] || "";
      for (const input of form.querySelectorAll(`[name="${name}"]`)) {
        if (errors[name]) input.setAttribute("aria-invalid", "true");
        else input.removeAttribute("aria-invalid");
      }
    }
  }

  function question() {
    const query = new URLSearchParams(new FormData(form));
    query.delete("csrfmiddlewaretoken");
    return query.toString();
  }

  async function refresh() {
    const mine = ++asked;
    try {
      const response = await fetch(`${panel.dataset.previewUrl}?${question()}`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!(response.headers.get("Content-Type") || "").includes("application/json")) {
        throw new Error(`the preview answered ${response.status}`); // signed out: the login page
      }
      const answer = await response.json();
      if (mine !== asked) return;
      showErrors(answer.errors || {});
      if (!response.ok) {
        preview.dataset.stale = "1";
        previewState.className = "preview-state error";
        previewState.textContent = answer.message;
        return;
      }
      latest = answer.scene;
      preview.dataset.stale = "0";
      preview.dataset.scene = latest.scene;
      field("preview-label").textContent = answer.label;
      previewState.className = "preview-state";
      previewState.textContent = "";
      handOver();
    } catch {
      if (mine !== asked) return;
      preview.dataset.stale = "1";
      previewState.className = "preview-state error";
      previewState.textContent = "The preview is not updating: check the connection, or sign in again.";
    }
  }

  function soon() {
    clearTimeout(typing);
    typing = setTimeout(refresh, TYPING_PAUSE_MS);
  }

  function fit() {
    box.style.setProperty("--preview-scale", String(box.clientWidth / STAGE_WIDTH));
  }

  if (frame.getAttribute("src")) {
    preview.hidden = false;
    panel.querySelector('[data-role="no-preview"]').hidden = true;
    new ResizeObserver(fit).observe(box);
    fit();
    // The page in the frame is (re)loaded: it waits for a scene to draw.
    frame.addEventListener("load", handOver);
    window.addEventListener("message", (event) => {
      if (event.source === frame.contentWindow && event.origin === location.origin) handOver();
    });
    form.addEventListener("input", (event) => {
      if (event.target.name === "at" && event.target.value.trim()) {
        const time = form.querySelector('input[name="to"][value="time"]');
        if (time) time.checked = true; // a time typed is the time wanted
      }
      soon();
    });
    form.addEventListener("change", refresh);
    setInterval(() => {
      if (!document.hidden) refresh();
    }, REFRESH_MS);
    refresh();
  }

  // Take, reveal and cover: posted in the background; the answer is the message, the `scene`
  // event names the scene on air (on every organiser's screen).

  function say(level, message) {
    said.textContent = message;
    said.className = `director-said ${level}`;
  }

  panel.addEventListener("submit", async (event) => {
    const sent = event.target.closest("form[data-director-form], form[data-director-action]");
    if (!sent) return;
    event.preventDefault();
    const button = sent.querySelector("button[type=submit]");
    // Busy, not disabled: a disabled button would drop the keyboard's focus.
    if (button.getAttribute("aria-disabled") === "true") return;
    button.setAttribute("aria-disabled", "true");
    try {
      const response = await fetch(sent.action, {
        method: "POST",
        body: new FormData(sent),
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!(response.headers.get("Content-Type") || "").includes("application/json")) {
        if (response.redirected || response.status === 403) {
          sent.submit(); // signed out, or the CSRF token expired: the page itself says so
        } else {
          say("error", `The server answered ${response.status}: reload the page to see what happened.`);
        }
        return;
      }
      const answer = await response.json();
      say(answer.level, answer.message);
      if (sent === form) showErrors(answer.errors || {});
    } catch {
      say("error", "Not sent: the connection to the server is down. Try again in a moment.");
    } finally {
      button.removeAttribute("aria-disabled");
      drawPodium(); // the reveal button stays unavailable when no place is left
    }
  });

  // The scene on air

  let onAir = null;

  function drawPodium() {
    if (!onAir) return;
    const count = Number(panel.dataset.podiumCount) || 0;
    const next = podiumNext(onAir, count);
    const reveal = panel.querySelector('[data-role="reveal"]');
    reveal.querySelector('input[name="revealed"]').value = String(next.revealed);
    reveal.querySelector("button").setAttribute("aria-disabled", next.place ? "false" : "true");
    field("podium-next").textContent = next.place
      ? `Next to reveal: ${next.place} place.`
      : count
        ? "Every place is revealed."
        : "No team is on the podium yet.";
  }

  function showOnAir(payload) {
    if (!payload || !payload.scene) return;
    onAir = payload;
    if (payload.scene === "podium") panel.dataset.podiumCount = String(payload.data.count || 0);
    panel.dataset.onAir = payload.scene;
    field("on-air").textContent = describe(payload, clock);
    field("taken-at").textContent = payload.taken_at ? `since ${seconds.format(new Date(payload.taken_at))}` : "";
    drawPodium();
  }

  return {
    onAir: showOnAir,
    status: (online) => {
      panel.dataset.live = online ? "1" : "0";
    },
  };
}

// The live connection: subscribes to the topics its page shows (SPEC §5), rebuilds from the
// snapshot on every (re)connect, reconnects forever with capped exponential backoff and jitter, and
// treats a silent socket as a dead one.

const MAX_DELAY_MS = 30000;
const FIRST_DELAY_MS = 500;
const PING_EVERY_MS = 10000;
const SILENCE_LIMIT_MS = 25000;

export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** attempt);
  return Math.round(ceiling / 2 + random() * (ceiling / 2)); // "equal jitter": never 0, never above the cap
}

// Close codes of a refused socket (SPEC §5): with `onRefused`, the caller decides what follows
// (a team page sends the visitor to sign in); without it, the connection keeps retrying.
const REFUSED = new Set([4400, 4401, 4403]);
// Too far behind to catch up: the server closed the socket, and a fresh snapshot is the way back.
const TOO_SLOW = 4408;

export function liveUrl(url, topics) {
  if (!topics) return url;
  return url + (url.includes("?") ? "&" : "?") + "topics=" + encodeURIComponent(topics);
}

export function connectLive({ url, topics = "", onSnapshot, onEvent, onStatus, onRefused = null }) {
  const address = liveUrl(url, topics);
  let socket = null;
  let attempt = 0;
  let retryTimer = null;
  let pingTimer = null;
  let lastHeard = 0;

  function open() {
    clearTimeout(retryTimer);
    socket = new WebSocket(address);
    socket.onopen = () => {
      attempt = 0;
      lastHeard = Date.now();
      pingTimer = setInterval(heartbeat, PING_EVERY_MS);
    };
    socket.onmessage = (message) => {
      lastHeard = Date.now();
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      if (event.type === "snapshot") {
        onSnapshot(event.data);
        onStatus(true);
      } else if (event.type !== "pong") {
        onEvent(event);
      }
    };
    socket.onclose = (event) => {
      clearInterval(pingTimer);
      socket = null;
      if (onRefused && REFUSED.has(event.code)) {
        onRefused(event.code);
        return;
      }
      onStatus(false);
      if (event.code === TOO_SLOW) attempt = 0; // not the server's trouble: back at once, for the latest
      retryTimer = setTimeout(open, backoffDelay(attempt++));
    };
    socket.onerror = () => socket && socket.close();
  }

  function heartbeat() {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    if (Date.now() - lastHeard > SILENCE_LIMIT_MS) {
      abandon(); // a half-open connection: its close handshake may never finish
      return;
    }
    socket.send(JSON.stringify({ type: "ping" }));
  }

  function abandon() {
    clearInterval(pingTimer);
    const dead = socket;
    socket = null;
    dead.onclose = dead.onmessage = dead.onerror = null;
    try {
      dead.close();
    } catch {
      // already gone
    }
    onStatus(false);
    retryTimer = setTimeout(open, backoffDelay(attempt++));
  }

  function resync() {
    // Start over with a fresh snapshot (OBS made the source visible again, say).
    if (socket) socket.close();
    else open();
  }

  open();
  return { resync };
}

"""The one path by which live events leave the server.

An event is built when the change happens (inside the database transaction) and sent only
after that transaction commits (`transaction.on_commit`), so a change that rolls back is never
announced. Every event has the envelope `{"type", "data", "at"}` of SPEC §5.

Group names come from here and nowhere else.
"""

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections, transaction
from django.utils import timezone

from common import metrics

logger = logging.getLogger(__name__)

# Named anew with this release: its market group carries teams' own events (addressed `to` them),
# which a server process of an earlier release would hand to every screen. Old and new processes
# hear none of each other's events while both run (docs/deploy.md: upgrade them together).
MARKET_GROUP = "live.market"  # every connection: overlays, teams, organisers
TRADES_GROUP = "live.trades"  # the public tape: only connections subscribed to `trades` (SPEC §5)

# SPEC §5 topics: a connection receives the events of the topics it asked for (`?topics=`).
TOPICS = ("market", "news", "leaderboard", "scene", "trades", "own", "cues")
# Asked for by name only: the public tape (the control room's latest trades), and the run sheet
# (the control room's timeline: organisers only, it holds the news still to come).
DEFAULT_TOPICS = frozenset(TOPICS) - {"trades", "cues"}
OWN = "own"  # a team's own events: its connections only
CUES = "cues"  # the run sheet: organisers' connections only


@dataclass(frozen=True)
class Kind:
    """How an event type travels: its topic, and `fold`, what a newer event of the type replaces
    while still waiting for a slow connection (None: nothing, every one is delivered; "": the one
    waiting of its type; a field: the one waiting with the same value of that field)."""

    topic: str | None
    fold: str | None = None


EVENT_KINDS = {
    "snapshot": Kind(None),
    "bell": Kind("market"),
    "price": Kind("market", fold="ticker"),
    "news": Kind("news"),
    "leaderboard": Kind("leaderboard", fold=""),
    "scene": Kind("scene"),
    "trade": Kind("trades"),
    "portfolio": Kind(OWN),
    "order": Kind(OWN),
    "rank": Kind(OWN, fold=""),
    "run_sheet": Kind(CUES),  # never folded: a fired note's pop-up rides on its own event
}
EVENT_TYPES = tuple(EVENT_KINDS)
# Internal messages between the server's processes: never sent to a client as such.
CONTROL_TYPES = ("session_ended", "overlay_token_rotated")

# Who may see an event beyond its group: "all", "staff" (organisers and overlays only), or
# "organisers" (signed-in organisers only).
ALL = "all"
STAFF = "staff"
ORGANISERS = "organisers"


def address_of(user_id) -> str:
    """How a user's own events are addressed (`to`): each server process hands them to that user's
    connections alone (overlay.hub). They travel in the market group: one channel-layer send for
    many teams' events in a burst, not one per team, and in order with the market's."""
    return str(user_id)


def envelope(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """The wire form, made JSON-safe now (Decimal → string, datetime → ISO 8601)."""
    if event_type not in EVENT_TYPES + CONTROL_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    body = {"type": event_type, "data": data, "at": timezone.now()}
    return json.loads(json.dumps(body, cls=DjangoJSONEncoder))


_server_loop: asyncio.AbstractEventLoop | None = None
_outbox: asyncio.Queue | None = None
_outbox_task: asyncio.Task | None = None  # held here: the loop keeps only a weak reference
SEND_TIMEOUT = 5.0
# Events waiting for the channel layer in one server process. Far above a bell burst (three
# events a trade); reached only when the layer stalls, and then the newest are dropped and logged.
OUTBOX_LIMIT = 10_000
# Events of one group sent in one channel-layer message, at most (see _deliver).
BATCH = "batch"
EACH = "each"  # one event for each of many users, each their own data (send_each)
BATCH_LIMIT = 500
# While events come in a stream (the last send took more than one), each send waits this long
# after the one before: at most 1/LINGER_SECONDS messages a second for each group, each process
# reading them. A single event after a quiet moment goes at once.
LINGER_SECONDS = 0.1
CONCURRENT_SENDS = 8  # group sends under way at once, each on its own Redis connection


def remember_server_loop() -> None:
    """Called from the server's event loop (each HTTP request and socket): events are sent from there.

    The in-memory layer's queues belong to that loop, and a request's thread should not wait for
    the channel layer: events are handed to this loop's outbox, sent in order by one task.
    """
    global _server_loop, _outbox, _outbox_task
    loop = asyncio.get_running_loop()
    if _server_loop is not loop:
        _outbox = asyncio.Queue(maxsize=OUTBOX_LIMIT)
        _outbox_task = loop.create_task(_deliver(_outbox), name="brainstorm-event-outbox")
        _server_loop = loop


async def _deliver(outbox: asyncio.Queue) -> None:
    """Send queued events to the channel layer, each group's in the order they were queued.

    A group send costs several Redis round trips, and under a stream of trades the loop answers
    each late: sent one by one, the events fell behind the trades and screens showed them later
    and later (docs/performance.md). So what has queued up while a send was under way (in a
    stream: lingered for) goes out together: one group send per group, its events in one `batch`
    message (unpacked in order by overlay.hub, which hands them to the process's sockets and SSE
    streams), the groups' sends at the same time. With nothing queued an event goes out alone, at
    once. Order is kept within each group, which is all a screen relies on: a team's own events
    travel in the market group, so its portfolio and the prices keep their order; the trade tape
    has its own group.
    """
    task = asyncio.current_task()
    sending = asyncio.Semaphore(CONCURRENT_SENDS)
    loop = asyncio.get_running_loop()
    last_sent, busy = float("-inf"), False
    while True:
        queued = [await outbox.get()]
        if busy:
            # A stream of events: the next send waits out LINGER_SECONDS since the last, and takes
            # everything that came meanwhile. Each message costs every server process a read of
            # its own from the channel layer, and under a burst those reads, on an event loop
            # sharing the processor with the requests, are what fell behind (docs/performance.md).
            await asyncio.sleep(max(0.0, last_sent + LINGER_SECONDS - loop.time()))
        while len(queued) < BATCH_LIMIT and not outbox.empty():
            queued.append(outbox.get_nowait())
        last_sent, busy = loop.time(), len(queued) > 1
        layer = get_channel_layer()
        # The groups at once (each team's own is a group: its `portfolio` events), each group's
        # events in one send; the next batch only after this one, so a group's order holds.
        await asyncio.gather(
            *(_send_group(layer, sending, group, messages) for group, messages in _by_group(queued).items())
        )
        if task.cancelling():
            # The loop is stopping and cancelled this task during a send, but the Redis client
            # swallowed the cancellation: end here, or the loop would wait for ever on the queue.
            raise asyncio.CancelledError


def _by_group(queued: list[tuple[str, dict]]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for group, message in queued:
        grouped.setdefault(group, []).append(message)
    return grouped


async def _send_group(layer, sending: asyncio.Semaphore, group: str, messages: list[dict]) -> None:
    message = messages[0] if len(messages) == 1 else {"type": BATCH, "group": group, "messages": messages}
    try:
        async with sending, asyncio.timeout(SEND_TIMEOUT):
            await layer.group_send(group, message)
    except Exception:  # the change is committed; a dead layer loses the event, not the server
        for lost in messages:
            metrics.EVENTS_FAILED.labels(lost["type"]).inc()
        logger.exception("broadcast of %s to %s failed", ", ".join(m["type"] for m in messages), group)


def unbatched(message: dict) -> list[dict]:
    """The events in a message from the channel layer: a `batch` carries several, in order."""
    return message["messages"] if message.get("type") == BATCH else [message]


def _enqueue(outbox: asyncio.Queue, group: str, message: dict) -> None:
    try:
        outbox.put_nowait((group, message))
    except asyncio.QueueFull:
        metrics.EVENTS_FAILED.labels(message["type"]).inc()
        logger.error("event outbox full: %s to %s dropped", message["type"], group)


def send_now(event: dict[str, Any], *, group: str | None = None, audience: str = ALL, to=None) -> None:
    """Hand a built event to the channel layer. In a server process it goes to the outbox and the
    caller goes on at once; elsewhere (a command, the scheduler) it is sent before returning.
    A layer that is down loses the event, not the request."""
    _send(layer_message(event, group=group, audience=audience, to=to), event["type"])


def send_each(event_type: str, parts: dict, *, audience: str = ALL) -> None:
    """An event of `event_type` for each of many users, each their own data (`parts`: user id →
    data), in one message: each server process hands its users' connections theirs (overlay.hub).
    Every team's rank, each second of a burst, is one send, not one per team."""
    message = {
        "type": EACH,
        "kind": event_type,
        "parts": {address_of(user_id): data for user_id, data in parts.items()},
        "at": envelope(event_type, {})["at"],
        "audience": audience,
        "group": MARKET_GROUP,
    }
    _send(message, event_type)


def unpack_each(message: dict, address: str) -> dict | None:
    """The event for `address` in an `each` message (send_each), as a layer message; None if it
    has no part there."""
    part = message["parts"].get(address)
    if part is None:
        return None
    event = {"type": message["kind"], "data": part, "at": message["at"]}
    return layer_message(event, audience=message["audience"], to=address)


def _send(message: dict, event_type: str) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    metrics.EVENTS_BROADCAST.labels(event_type).inc()
    group = message["group"]
    loop, outbox = _server_loop, _outbox
    if loop is not None and outbox is not None and loop.is_running():
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            _enqueue(outbox, group, message)
        else:
            loop.call_soon_threadsafe(_enqueue, outbox, group, message)
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # the change is committed; a dead layer must not turn it into an error
        metrics.EVENTS_FAILED.labels(event_type).inc()
        logger.exception("broadcast of %s to %s failed", event_type, group)


def layer_message(event: dict[str, Any], *, group: str | None = None, audience: str = ALL, to=None) -> dict[str, Any]:
    """An event as the channel layer carries it: its wire text, made once here, not once per
    socket (a price change goes to every screen). The group too: each server process reads all its
    groups' events on one channel (overlay.hub). And how it is delivered, worked out once: its
    `topic`, and its `fold` key (overlay.delivery: a newer event with the same key replaces one
    still waiting for a slow connection), None for events that are never replaced. `to`: the user
    whose connections alone receive it (a team's own events)."""
    kind = EVENT_KINDS.get(event["type"])
    topic = kind.topic if kind else None
    fold = None
    if kind is not None and kind.fold == "":
        fold = event["type"]
    elif kind is not None and kind.fold is not None and kind.fold in event["data"]:
        fold = f"{event['type']}:{event['data'][kind.fold]}"
    message = {
        "type": event["type"],
        "text": json.dumps(event),
        "audience": audience,
        "group": group or default_group(event["type"]),
        "topic": topic,
        "fold": fold,
        "to": address_of(to) if to is not None else None,
    }
    if event["type"] in CONTROL_TYPES:
        message["event"] = event  # read by the connections, never written to a client
    return message


def event_data(message: dict) -> dict:
    """The `data` of the event a layer message carries (its text, read: the message carries the
    event once, as the text written to every screen; each process reads every message)."""
    return message["event"]["data"] if "event" in message else json.loads(message["text"])["data"]


def default_group(event_type: str) -> str:
    """The tape has a group of its own: a server process hears it only while one of its
    connections shows it, not once per trade for every screen. Everything else, a team's own
    events included (addressed `to` it), goes to the market group."""
    kind = EVENT_KINDS.get(event_type)
    return TRADES_GROUP if kind is not None and kind.topic == "trades" else MARKET_GROUP


def broadcast(event_type: str, data: dict[str, Any], *, audience: str = ALL, to=None) -> dict[str, Any]:
    """Announce `event_type` with `data` once the current transaction commits; `to` a user's own
    connections only (a team's `portfolio`)."""
    kind = EVENT_KINDS.get(event_type)
    if kind is not None and kind.topic == OWN and to is None:
        raise ValueError(f"a {event_type!r} event is a team's own: say `to` whom")
    event = envelope(event_type, data)
    group = default_group(event_type)
    transaction.on_commit(lambda: send_now(event, group=group, audience=audience, to=to), robust=True)
    return event


class Coalescer:
    """Runs `emit` at most once per `interval` seconds, and always once after the last request.

    The first request after a quiet interval emits at once, in the caller's thread; requests
    within the interval are folded into one trailing emission from a timer thread.
    """

    def __init__(self, emit: Callable[[], None], interval: float, clock: Callable[[], float] = time.monotonic):
        self._emit = emit
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._timer: threading.Timer | None = None

    def request(self) -> None:
        with self._lock:
            if self._timer is not None:
                return  # a trailing emission is already due and will see this change
            wait = self._last + self._interval - self._clock()
            if wait > 0:
                self._timer = threading.Timer(wait, self._fire_from_timer)
                self._timer.daemon = True
                self._timer.start()
                return
            self._last = self._clock()
        self._run()

    def _fire_from_timer(self) -> None:
        with self._lock:
            self._timer = None
            self._last = self._clock()
        try:
            self._run()
        finally:
            try:
                close_old_connections()  # this thread's own connection, back to the pool
            except Exception:
                logger.exception("closing the coalescer thread's connection failed")

    def _run(self) -> None:
        try:
            self._emit()
        except Exception:  # a failed emission must not break the request that triggered it
            logger.exception("coalesced emission failed")

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._last = float("-inf")


def sessions_ended(user_id, *, ended: str | None = None, keep: str | None = None) -> None:
    """A user signed out (`ended`: that browser's session) or changed the password (every session
    but `keep`, and every API token): their open live connections close after the commit, so a
    shared computer stops streaming a team's portfolio once the team has left it."""
    broadcast("session_ended", {"ended": ended, "keep": keep}, to=user_id)


def connection_ends(data: dict, *, session_key: str | None, by_token: bool) -> bool:
    """Whether a `session_ended` message closes a connection opened with this session or token."""
    if by_token:
        return True  # sign-out and password change both delete the API token
    if data.get("ended") is not None:
        return session_key == data["ended"]
    return session_key != data.get("keep")


def overlay_token_rotated() -> None:
    """The overlay token changed: after the commit every connection opened with a token closes
    (its URL carries the old one), in every server process, while teams and organisers stay."""
    broadcast("overlay_token_rotated", {}, audience=STAFF)

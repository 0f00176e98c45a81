"""Delivery to one live connection (SPEC §5 "Delivery"): as fast as its client reads, never a backlog.

Daphne takes whatever a connection is given into that connection's write buffer at once: a phone
on school Wi-Fi that reads slowly would make the server hold an ever longer backlog for it, and its
screen would show the market of minutes ago. So a connection whose client has not yet taken what
was written (`HIGH_WATER` bytes still in the server) is given nothing more for now: its events wait
in its `Mailbox`, where a newer price of the same ticker, or a newer leaderboard or rank, replaces
the one waiting (SPEC: prices and leaderboards may be folded), and they go out as the client
catches up. Bells, news and scenes are never replaced. A connection with more than
CHANNEL_CAPACITY events waiting even so (a slow screen on the trade tape) is too far behind to
catch up: it is closed with 4408, and its client reconnects to a fresh snapshot.

A slow connection never holds anyone else back: nothing here waits for a client. What the server
holds for one is bounded: its socket's send buffer (`LIVE_SEND_BUFFER_BYTES`), `HIGH_WATER` bytes
and CHANNEL_CAPACITY events.
"""

import asyncio
import logging
import socket
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from functools import partial
from itertools import count
from typing import Any

from django.conf import settings

from common import metrics
from overlay.events import event_data

logger = logging.getLogger(__name__)

TOO_SLOW = 4408  # WebSocket close code: too far behind to catch up (SPEC §5)
SERVER_SEND = "brainstorm.server_send"  # scope key: the server's own `send` (KeepServerSend)
POLL_SECONDS = 0.05  # how often a held-back connection looks whether its client caught up


def high_water() -> int:
    return settings.LIVE_HIGH_WATER_BYTES


class Mailbox:
    """The events waiting for one connection, oldest first. An event with a `fold` key replaces the
    one waiting with the same key, and takes its place at the back: it happened after everything
    before it (a price that came after a closing bell must not be shown before it)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._waiting: OrderedDict[object, dict] = OrderedDict()
        self._serial = count()

    def __len__(self) -> int:
        return len(self._waiting)

    def put(self, message: dict, *, fold: bool = True) -> bool:
        """Queue `message` (replacing the one waiting with its `fold` key, unless `fold` is False);
        False when more than `capacity` events now wait."""
        key = message.get("fold") if fold else None
        if key is None:
            key = next(self._serial)
        elif self._waiting.pop(key, None) is not None:
            metrics.EVENTS_FOLDED.labels(message["type"]).inc()
        self._waiting[key] = message
        return len(self._waiting) <= self.capacity

    def take(self) -> dict:
        return self._waiting.popitem(last=False)[1]

    def clear(self) -> None:
        self._waiting.clear()


def _unknown_backlog() -> int:
    return 0


def server_backlog(send: Callable | None) -> Callable[[], int]:
    """A function telling how many bytes written to this connection the server still holds (not yet
    taken by the operating system, whose own buffer for the socket is also kept small here).

    Daphne hands each ASGI application `send` as `partial(server.handle_reply, protocol)`, and the
    protocol's Twisted transport keeps in its write buffer what the network has not taken yet. Under
    another server (or a test's in-process communicator) the backlog is unknown and reads 0:
    events are written at once, as before.
    """
    protocol = send.args[0] if isinstance(send, partial) and send.args else None
    transport = getattr(protocol, "transport", None)
    if transport is None or not all(hasattr(transport, name) for name in ("dataBuffer", "offset", "_tempDataLen")):
        return _unknown_backlog
    try:
        # The kernel would otherwise buffer megabytes for a slow reader (autotuning), all of it
        # events that can no longer be folded: a screen minutes behind.
        handle = transport.getHandle()
        handle.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, settings.LIVE_SEND_BUFFER_BYTES)
    except (AttributeError, OSError):
        logger.debug("live events: the send buffer of a connection could not be set", exc_info=True)

    def backlog() -> int:
        # What the transport holds: what the operating system refused at its last write, and what
        # it was handed since (written at the loop's next turn, if the socket takes it). The hub
        # lets the loop turn between the events of a batch, so a client that keeps up is not
        # taken for a slow one by a batch written in one go.
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen

    return backlog


class KeepServerSend:
    """ASGI middleware, outermost: keeps the server's own `send` in the scope, so a live connection
    can tell how far behind its client is (`server_backlog`); the middlewares inside wrap it."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        return await self.app({**scope, SERVER_SEND: send}, receive, send)


class Outlet:
    """Writes a WebSocket's events: at once while its client keeps up, else from its mailbox as the
    client catches up (one task, only while the connection is held back)."""

    def __init__(
        self,
        write: Callable[[str], Awaitable[None]],
        backlog: Callable[[], int],
        too_slow: Callable[[], Awaitable[None]],
    ) -> None:
        self.write = write
        self.backlog = backlog
        self.too_slow = too_slow
        self.mailbox = Mailbox(settings.CHANNEL_CAPACITY)
        self.drainer: asyncio.Task | None = None
        self.closed = False

    async def offer(self, message: dict) -> None:
        if self.closed:
            return
        if not self.mailbox and self.backlog() <= high_water():
            await self.write(message["text"])
            return
        if not self.mailbox.put(message):
            self.close()
            metrics.LIVE_TOO_SLOW.labels("websocket").inc()
            logger.warning("live events: a WebSocket fell %s events behind and is closed", len(self.mailbox))
            await self.too_slow()
            return
        if self.drainer is None:
            self.drainer = asyncio.get_running_loop().create_task(self._drain(), name="brainstorm-live-drain")

    async def _drain(self) -> None:
        try:
            while self.mailbox and not self.closed:
                if self.backlog() > high_water():
                    await asyncio.sleep(POLL_SECONDS)
                    continue
                await self.write(self.mailbox.take()["text"])
        finally:
            self.drainer = None

    def close(self) -> None:
        """Nothing more is written; what waits is dropped."""
        self.closed = True
        self.mailbox.clear()
        if self.drainer is not None and self.drainer is not asyncio.current_task():
            self.drainer.cancel()


class Subscription:
    """What one connection asked for (its topics) and may see, and its team's rank as last sent:
    a `rank` event (every second of a burst, for every team) is written only when it changed since
    the last one, or since the rank in the last `portfolio`."""

    def __init__(self, viewer, topics: frozenset[str]) -> None:
        self.viewer = viewer
        self.topics = topics
        self.rank: int | None = None

    def deliverable(self, message: dict) -> dict | None:
        """The message to write for a message from the hub, or None."""
        if not self.viewer.may_see(message.get("audience", "all")):
            return None
        kind = message["type"]
        if kind == "rank":
            rank = event_data(message)["rank"]
            if rank == self.rank:
                return None
            self.rank = rank
        elif kind == "portfolio":
            self.rank = event_data(message).get("rank")
        return message

    def remember_rank(self, portfolio: dict[str, Any] | None) -> None:
        if portfolio is not None:
            self.rank = portfolio.get("rank")

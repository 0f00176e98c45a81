"""One channel-layer subscription per server process for all of its live sockets.

A Channels consumer per socket would receive every event from the channel layer on its own: for a
thousand overlays on one server, a thousand wake-ups per price change, each creating and
cancelling tasks inside the layer's receive, before a single frame is written. That was most of a
price change's delay (docs/performance.md). Here the process joins each group once, whatever the
number of its sockets in it, reads the events in one task, and hands each event to the sockets of
its group directly, in the order the layer gave them.

Each event names its group (`overlay.events.send_now` adds it): one channel receives them all.
"""

import asyncio
import logging
import weakref
from collections.abc import Coroutine
from typing import Protocol

from channels.layers import get_channel_layer
from django.conf import settings

from overlay.events import EACH, unbatched, unpack_each

logger = logging.getLogger(__name__)

# The hub's channel names begin with this: settings give them more room than a socket's
# (CHANNEL_LAYERS' channel_capacity), since one channel carries the whole process's events.
CHANNEL_PREFIX = "live-hub"
RETRY_SECONDS = 1.0
YIELD_EVERY = 50  # sockets handed an event before the loop gets control back


class Member(Protocol):
    """A live connection: a WebSocket consumer or an SSE stream."""

    topics: frozenset[str]  # it is handed only the events of these topics (and internal messages)
    address: str | None  # its user's own events (`to`) are handed to it; None for an overlay

    async def hub_message(self, message: dict) -> None:
        """One event of a group the connection is in (never raises for a closed connection)."""

    async def hub_lost(self) -> None:
        """The channel layer failed: events may have been missed, so the connection should end
        and its client reconnect for a fresh snapshot."""


class Hub:
    """The subscriptions of one event loop (one server process)."""

    def __init__(self, layer) -> None:
        self.layer = layer
        self.channel: str | None = None
        self.members: dict[str, set[Member]] = {}
        self.addressed: dict[str, set[Member]] = {}  # a user's connections, for their own events
        self.subscribed: set[str] = set()
        self.lock = asyncio.Lock()  # joins and leaves, one at a time: they read and change the above
        self.reader: asyncio.Task | None = None  # from the first join until the loop stops
        self.refresher: asyncio.Task | None = None

    async def join(self, member: Member, groups: tuple[str, ...]) -> None:
        """Deliver the events of `groups` to `member` from now on. When this returns the process
        is in every group on the channel layer: an event sent after it reaches the member."""
        async with self.lock:
            if self.channel is None:
                self.channel = await self.layer.new_channel(f"{CHANNEL_PREFIX}.")
            try:
                for group in groups:
                    if group not in self.subscribed:
                        await self.layer.group_add(group, self.channel)
                        self.subscribed.add(group)
            except BaseException:
                await self._tidy()  # a failed join leaves nothing behind
                raise
            for group in groups:
                self.members.setdefault(group, set()).add(member)
            if member.address is not None:
                self.addressed.setdefault(member.address, set()).add(member)
            if self.reader is None:
                # One reader for the life of the loop: stopping and starting it again would leave
                # events for the old channel in the layer's buffers.
                self.reader = asyncio.create_task(self._read(self.channel), name="brainstorm-live-hub")
                self.refresher = asyncio.create_task(self._refresh(), name="brainstorm-live-hub-refresh")

    async def leave(self, member: Member, groups: tuple[str, ...]) -> None:
        """Stop delivering to `member`; the process leaves a group its last member left."""
        async with self.lock:
            self._remove(member, groups)
            await self._tidy()

    def forget(self, member: Member, groups: tuple[str, ...]) -> None:
        """`leave` for a connection that ended without saying so (no await: it may be running in a
        cancelled task). It gets nothing more at once; the layer is told by a task."""
        self._remove(member, groups)
        in_background(self._tidy_locked())

    def _remove(self, member: Member, groups: tuple[str, ...]) -> None:
        for index, keys in ((self.members, groups), (self.addressed, (member.address,))):
            for key in keys:
                members = index.get(key)
                if members is not None:
                    members.discard(member)
                    if not members:
                        del index[key]

    async def _tidy_locked(self) -> None:
        async with self.lock:
            await self._tidy()

    async def _tidy(self) -> None:
        for group in self.subscribed - self.members.keys():
            self.subscribed.discard(group)
            try:
                await self.layer.group_discard(group, self.channel)
            except Exception:  # the membership expires on its own (group_expiry)
                logger.exception("live events: leaving group %s failed", group)

    async def _read(self, channel: str) -> None:
        task = asyncio.current_task()
        while True:
            try:
                message = await self._receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                if task.cancelling():
                    raise asyncio.CancelledError from None  # the loop is stopping
                logger.exception("live events: the channel layer failed; this server's sockets reconnect")
                async with self.lock:
                    # Redis may come back empty, memberships gone: the sockets that reconnect join
                    # their groups on the layer again, whoever is still here.
                    self.subscribed.clear()
                await self._lost()
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if task.cancelling():
                # The loop is stopping and cancelled this task during the receive, but the Redis
                # client swallowed the cancellation: end here, or the loop would wait for ever.
                raise asyncio.CancelledError
            events = unbatched(message)
            for event in events:
                await self._deliver(event)
                if len(events) > 1:
                    # Each event's frames leave before the next is written: what a connection's
                    # transport still holds then is what its client has not taken (overlay.delivery).
                    await asyncio.sleep(0)

    async def _receive(self, channel: str) -> dict:
        """The layer's next message. When the loop stops and cancels the reader, the read ends too:
        Redis' client may swallow a cancellation, and channels-redis then waits for the next
        message for ever (a loop that never finished stopping: seen in tests), so it is cancelled
        until it has ended."""
        receiving = asyncio.ensure_future(self.layer.receive(channel))
        try:
            return await asyncio.shield(receiving)
        except asyncio.CancelledError:
            while not receiving.done():
                receiving.cancel()
                await asyncio.wait({receiving}, timeout=0.1)
            raise

    async def _deliver(self, message: dict) -> None:
        if "group" not in message:
            # From a process of an older release (a rolling upgrade): which sockets may see it is
            # unknown, so none do. Restart the scheduler with the web servers.
            logger.warning("live events: %s without a group dropped", message.get("type"))
            return
        if message["type"] == EACH:
            await self._deliver_each(message)
            return
        to = message.get("to")
        members = self.members.get(message["group"]) if to is None else self.addressed.get(to)
        if not members:
            return  # sent before the last member of that group left, or to a user not here
        topic = message.get("topic")
        handed = 0
        for member in tuple(members):
            if member not in members:
                continue  # left while this event was going out
            if topic is not None and topic not in member.topics:
                continue  # a screen that does not show it is not sent it
            handed += 1
            try:
                await member.hub_message(message)
            except Exception:  # one broken socket must not stop the others' events
                logger.exception("live events: delivering %s failed", message.get("type"))
            if handed % YIELD_EVERY == 0:
                # The server writes a frame to the network only when the loop gets control back:
                # let the first sockets' frames leave while the rest are being queued.
                await asyncio.sleep(0)

    async def _deliver_each(self, message: dict) -> None:
        """One event for each of many users: each user here is handed their own."""
        for address in tuple(self.addressed):
            single = unpack_each(message, address)
            if single is not None:
                await self._deliver(single)

    async def _lost(self) -> None:
        everyone = {member for members in self.members.values() for member in members}
        for member in everyone:
            try:
                await member.hub_lost()
            except Exception:
                logger.exception("live events: closing a socket failed")

    async def _refresh(self) -> None:
        """Channel layers forget a group membership after `group_expiry` (a day by default); a
        server runs longer. Join again well before that."""
        while True:
            await asyncio.sleep(settings.LIVE_HUB_REFRESH_SECONDS)
            async with self.lock:
                for group in tuple(self.subscribed):
                    try:
                        await self.layer.group_add(group, self.channel)
                    except Exception:
                        logger.exception("live events: renewing group %s failed", group)


_background: set[asyncio.Task] = set()


def in_background(work: Coroutine) -> None:
    """Run `work` on this loop without waiting for it (held here: the loop keeps only a weak
    reference to a task)."""
    task = asyncio.get_running_loop().create_task(work)
    _background.add(task)
    task.add_done_callback(_background.discard)


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def current_hub() -> Hub | None:
    """This event loop's hub, or None when no channel layer is configured."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        layer = get_channel_layer()
        if layer is None:
            return None
        found = _hubs[loop] = Hub(layer)
    return found

"""WebSocket `/api/ws`: the live market for overlays, teams and organisers (SPEC §5)."""

import json
import logging
from typing import Any

from autobahn.exception import Disconnected
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from common import metrics
from common.problems import DomainError
from overlay import domain, presence
from overlay.delivery import SERVER_SEND, TOO_SLOW, Outlet, Subscription, server_backlog
from overlay.domain import CommandRefused
from overlay.events import CONTROL_TYPES, EVENT_TYPES, connection_ends, envelope, remember_server_loop
from overlay.hub import Hub, current_hub, in_background
from overlay.viewers import (
    OVERLAY,
    OVERLAY_VIEWER,
    PARTICIPANT,
    TopicsRefused,
    Viewer,
    token_from_query,
    topics_from_query,
)

logger = logging.getLogger(__name__)

BAD_INPUT = 4400
UNAUTHENTICATED = 4401
FORBIDDEN = 4403
LAYER_FAILED = 1011
LAYER_MESSAGES = frozenset(EVENT_TYPES + CONTROL_TYPES) - {"snapshot"}
MAX_MESSAGE_BYTES = 4096


def _origin_allowed(headers: list[tuple[bytes, bytes]]) -> bool:
    """Browsers send Origin: a page on another site may not use a team's session cookie."""
    origin = dict(headers).get(b"origin")
    if origin is None:
        return True  # not a browser: nothing to forge
    value = origin.decode("latin-1")
    if value in settings.CSRF_TRUSTED_ORIGINS:
        return True
    host = value.split("://", 1)[-1]
    domain, _ = split_domain_port(host)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


class MarketConsumer(AsyncWebsocketConsumer):
    # No channel of its own: the server process receives the events of every socket's groups once
    # and hands them to each socket (overlay.hub), instead of a thousand sockets each waiting on
    # the channel layer. An alias with no layer configured makes Channels skip its own channel.
    channel_layer_alias = "live events come from overlay.hub"
    viewer: Viewer | None = None
    topics: frozenset[str] = frozenset()  # what the socket subscribed to (overlay.hub reads it)
    live_groups: tuple[str, ...] = ()  # not `groups`: Channels reads that one itself
    address: str | None = None  # its user's, for their own events (overlay.hub)
    subscription: Subscription | None = None
    outlet: Outlet | None = None
    joined: Hub | None = None  # the hub, while this socket is in its groups
    held: list[dict] | None = None  # events that came before the snapshot went out
    ended = False
    present_as = None  # the team's user id while this socket counts it online (overlay.presence)
    counted = False  # in the open-connections gauge (common.metrics)

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Channels calls disconnect() only when the client's close reaches the consumer: not
            # when a handler raised, nor when the server cancelled the consumer. A socket still
            # joined here would be handed events for the life of the process.
            self._abandoned()

    def _abandoned(self) -> None:
        self._end()
        self._uncount()
        if self.joined is not None:
            live, self.joined = self.joined, None
            live.forget(self, self.live_groups)
        if self.present_as is not None:
            user_id, self.present_as = self.present_as, None
            in_background(presence.socket_closed(user_id))

    def _end(self) -> None:
        """Nothing more is written to this socket: an event on its way is not sent, and what waits
        for a slow client is dropped (disconnect() still leaves the groups)."""
        self.ended = True
        if self.outlet is not None:
            self.outlet.close()

    def _uncount(self) -> None:
        if self.counted:
            self.counted = False
            metrics.LIVE_CONNECTIONS.labels("websocket").dec()

    async def connect(self) -> None:
        remember_server_loop()
        # Accept first: a close code (4401/4403) can only reach the client on an open socket.
        await self.accept()
        viewer, refusal = await self._authenticate()
        if viewer is None:
            await self.close(code=refusal)
            return
        try:
            topics = topics_from_query(self.scope.get("query_string", b""), viewer)
        except TopicsRefused as refused:
            await self._error("validation_error", str(refused))
            await self.close(code=BAD_INPUT)
            return
        self._subscribe(viewer, topics)
        try:
            await self._go_live(viewer)
        except BaseException:
            # Channels does not call disconnect() when connect() fails: leave the groups and the
            # presence count here, or events would go on being handed to a dead socket.
            await self.disconnect(LAYER_FAILED)
            raise

    def _subscribe(self, viewer: Viewer, topics: frozenset[str]) -> None:
        self.viewer, self.topics, self.live_groups = viewer, topics, viewer.groups(topics)
        self.address = viewer.address
        self.subscription = Subscription(viewer, topics)
        self.outlet = Outlet(self._send_text, server_backlog(self.scope.get(SERVER_SEND)), self._too_slow)

    async def _go_live(self, viewer: Viewer) -> None:
        self.held = []
        live = current_hub()
        if live is not None:
            await live.join(self, self.live_groups)
            self.joined = live
        if viewer.kind == OVERLAY and not await self._token_still_current():
            self._end()
            await self.close(code=UNAUTHENTICATED)
            return
        if viewer.kind == PARTICIPANT:  # organisers and overlays are not teams online
            self.present_as = viewer.user.pk
            await presence.socket_opened(self.present_as)
        # Subscribed before the snapshot is read: no change can fall between the two.
        snapshot = await database_sync_to_async(self._snapshot)()
        if self.ended:
            return  # closed meanwhile (the channel layer failed): no snapshot, nothing held
        self.subscription.remember_rank(snapshot.get("portfolio"))
        await self._send(envelope("snapshot", snapshot))
        while self.held:  # then, in order, what happened while it was read
            await self._handle(self.held.pop(0))
        self.held = None
        # Counted once live: a socket refused or failed on the way in is not left in the gauge.
        metrics.LIVE_CONNECTIONS.labels("websocket").inc()
        self.counted = True

    async def _authenticate(self) -> tuple[Viewer | None, int]:
        token = token_from_query(self.scope.get("query_string", b""))
        if token is not None:
            token_ok = await database_sync_to_async(domain.overlay_token_ok)(token)
            return (OVERLAY_VIEWER, 0) if token_ok else (None, UNAUTHENTICATED)
        user = self.scope.get("user")
        viewer = await database_sync_to_async(domain.viewer_for_user)(user)
        if viewer is None:
            authenticated = bool(user and user.is_authenticated)
            return None, FORBIDDEN if authenticated else UNAUTHENTICATED
        if not _origin_allowed(self.scope.get("headers", [])):
            return None, FORBIDDEN
        return viewer, 0

    async def _token_still_current(self) -> bool:
        """Read again once subscribed: a rotation that committed after the first read sent its
        `overlay_token_rotated` before this socket was in the group to hear it."""
        token = token_from_query(self.scope.get("query_string", b""))
        return await database_sync_to_async(domain.overlay_token_ok)(token)

    def _snapshot(self) -> dict[str, Any]:
        return domain.snapshot(self.viewer, self.topics)

    async def disconnect(self, code: int) -> None:
        self._end()  # an event already on its way to this socket is not sent
        self._uncount()
        if self.present_as is not None:
            user_id, self.present_as = self.present_as, None
            await presence.socket_closed(user_id)
        if self.joined is not None:
            await self.joined.leave(self, self.live_groups)
            self.joined = None  # after: if the leave is cancelled, _abandoned() forgets the socket

    # Commands from the client

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.viewer is None:
            return
        if text_data is None or len(text_data) > MAX_MESSAGE_BYTES:
            await self._error("malformed", "Send one JSON object as text.")
            return
        try:
            command = json.loads(text_data)
        except ValueError:
            await self._error("malformed", "That is not JSON.")
            return
        if not isinstance(command, dict) or not isinstance(command.get("type"), str):
            await self._error("malformed", 'Send an object with a "type".')
            return
        if command["type"] == "ping":
            if self.present_as is not None:
                await presence.socket_alive(self.present_as)
            await self._send(envelope_pong())
            return
        handler = domain.command_handler(command["type"])
        if handler is None:
            await self._error("unknown_command", f"Unknown command {command['type'][:40]!r}.")
            return
        try:
            await database_sync_to_async(handler)(self.viewer, command)
        except CommandRefused as refused:
            await self._error(refused.code, refused.message)
        except DomainError as refusal:
            await self._error(refusal.code, refusal.detail)

    # Events from the channel layer, by way of overlay.hub: one handler per event type (SPEC §5)

    async def hub_message(self, message: dict) -> None:
        if self.ended:
            return
        if self.held is not None:
            self.held.append(message)  # the snapshot is on its way: after it
            return
        await self._handle(message)

    async def hub_lost(self) -> None:
        # The channel layer failed: events may be missing here. The client reconnects and starts
        # again from a fresh snapshot rather than show a market that stopped moving.
        if not self.ended:
            self._end()
            await self.close(code=LAYER_FAILED)

    async def _too_slow(self) -> None:
        # Too far behind to catch up (overlay.delivery): the client reconnects to a fresh snapshot.
        if not self.ended:
            self._end()
            await self.close(code=TOO_SLOW)

    async def _handle(self, message: dict) -> None:
        # Events touch no database (their text is ready): no trip to Channels' database thread.
        if message["type"] in LAYER_MESSAGES:
            await getattr(self, message["type"])(message)

    async def bell(self, message: dict) -> None:
        await self._forward(message)

    async def price(self, message: dict) -> None:
        await self._forward(message)

    async def trade(self, message: dict) -> None:
        await self._forward(message)

    async def news(self, message: dict) -> None:
        await self._forward(message)

    async def leaderboard(self, message: dict) -> None:
        await self._forward(message)

    async def scene(self, message: dict) -> None:
        await self._forward(message)

    async def portfolio(self, message: dict) -> None:
        await self._forward(message)

    async def order(self, message: dict) -> None:
        await self._forward(message)

    async def rank(self, message: dict) -> None:
        await self._forward(message)

    async def run_sheet(self, message: dict) -> None:
        await self._forward(message)

    async def session_ended(self, message: dict) -> None:
        # The team signed out on this browser or changed its password: the socket goes too.
        session = self.scope.get("session")
        key = getattr(session, "session_key", None)
        signed_in = self.viewer is not None and self.viewer.user is not None
        if signed_in and connection_ends(message["event"]["data"], session_key=key, by_token=False):
            self._end()
            await self.close(code=UNAUTHENTICATED)

    async def overlay_token_rotated(self, message: dict) -> None:
        # The URL of this overlay carries the old token: it stops at once, teams and organisers stay.
        if self.viewer is not None and self.viewer.kind == OVERLAY and not self.ended:
            self._end()
            await self.close(code=UNAUTHENTICATED)

    async def _forward(self, message: dict) -> None:
        if self.ended or self.subscription is None:
            return
        deliverable = self.subscription.deliverable(message)
        if deliverable is not None:
            await self.outlet.offer(deliverable)  # its text was made once for every socket

    async def _send(self, event: dict) -> None:
        await self._send_text(json.dumps(event))

    async def _send_text(self, text: str) -> None:
        try:
            await self.base_send({"type": "websocket.send", "text": text})
        except Disconnected:
            # The socket is closing (the client's close is on its way to disconnect()): the
            # server refuses further frames. Nothing more is sent to it.
            self._end()

    async def _error(self, code: str, message: str) -> None:
        await self._send({"type": "error", "data": {"code": code, "message": message}})


def envelope_pong() -> dict:
    return {"type": "pong", "data": {}}

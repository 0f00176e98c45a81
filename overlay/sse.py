"""Server-Sent Events `GET /api/obs/events`: the WebSocket's events for clients that only read."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator

from channels.db import database_sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET
from rest_framework.exceptions import AuthenticationFailed

from accounts.authentication import TokenAuthentication
from brainstorm import metrics
from brainstorm.problems import problem_response
from overlay import payloads
from overlay.events import EVENT_TYPES, connection_ends, envelope, remember_server_loop
from overlay.hub import Hub, current_hub
from overlay.viewers import OVERLAY, OVERLAY_VIEWER, Viewer, overlay_token_ok, viewer_for_user

logger = logging.getLogger(__name__)

# A stream whose response Django dropped unsent (its client went before the first byte) never
# runs; its listener leaves the hub after this long. A stream starts within milliseconds.
UNSTARTED_SECONDS = 30.0


def _frame(event: dict) -> str:
    return f"data: {json.dumps(event)}\n\n"


def _user_for_api_token(header: str):
    """The user of an `Authorization: Token <key>` header, checked as the API checks it."""
    kind, _, key = header.partition(" ")
    if kind != "Token" or not key.strip():
        return None
    try:
        user, _ = TokenAuthentication().authenticate_credentials(key.strip())
    except AuthenticationFailed:
        return None
    return user


async def _viewer(request: HttpRequest) -> tuple[Viewer | None, int]:
    token = request.GET.get("token")
    if token is not None:
        token_ok = await database_sync_to_async(overlay_token_ok)(token)
        return (OVERLAY_VIEWER, 0) if token_ok else (None, 401)
    authorization = request.headers.get("Authorization")
    # In Channels' database thread, which closes the connection it used (a plain sync_to_async
    # thread would keep it, and keep a dead one after a database restart).
    user = await database_sync_to_async(_user_for_api_token)(authorization) if authorization else await request.auser()
    if user is not None:
        request.user = user  # the request's log line names who opened the stream
    viewer = await database_sync_to_async(viewer_for_user)(user)
    if viewer is None:
        return None, 403 if user is not None and user.is_authenticated else 401
    return viewer, 0


class Listener:
    """One stream's place among its process's live connections (`overlay.hub.Member`): the hub
    hands it each event of the stream's groups, which wait here until the stream sends them.

    A stream that falls `CHANNEL_CAPACITY` events behind, or whose events may have been lost (the
    channel layer failed), ends: the browser's EventSource reconnects and starts again from a
    fresh snapshot, rather than show a market with gaps in it. It leaves the hub then, whether or
    not its stream ever ran, and leaves it too if its stream has not started within
    UNSTARTED_SECONDS (a client gone before the first byte: Django drops the response unsent, and
    the stream's own ending never comes)."""

    def __init__(self, live: Hub | None, groups: tuple[str, ...]) -> None:
        self.live = live
        self.groups = groups
        self.events: asyncio.Queue[dict | None] = asyncio.Queue()
        self.started = False
        self.ended = False

    async def join(self) -> None:
        if self.live is not None:
            await self.live.join(self, self.groups)

    def leave(self) -> None:
        self.ended = True
        if self.live is not None:
            self.live.forget(self, self.groups)  # no await: the stream's task may be cancelled

    async def hub_message(self, message: dict) -> None:
        if self.ended:
            return
        if self.events.qsize() >= settings.CHANNEL_CAPACITY:
            logger.warning("live events: an SSE stream fell %s events behind and ends", self.events.qsize())
            self.end()
            return
        self.events.put_nowait(message)

    async def hub_lost(self) -> None:
        self.end()

    def leave_unless_started(self) -> None:
        if not self.started:
            self.end()

    def end(self) -> None:
        if not self.ended:
            self.events.put_nowait(None)  # after what came before it
            self.leave()


@require_GET
async def obs_events(request: HttpRequest) -> HttpResponse:
    remember_server_loop()
    viewer, status = await _viewer(request)
    if viewer is None:
        if status == 401:
            return problem_response(request, status=401, code="not_authenticated", detail="Sign in or use ?token=.")
        return problem_response(request, status=403, code="permission_denied", detail="You may not watch.")
    # Events come from the process's one receiver (overlay.hub), as the WebSockets' do: a stream
    # reading the channel layer itself would take turns with the hub at the layer's one reader,
    # in blocking reads of 5 s, and an event for the stream alone could wait that long.
    listener = Listener(current_hub(), viewer.groups)
    await listener.join()
    try:
        # Read again once subscribed: a rotation that committed after the first read sent its
        # `overlay_token_rotated` before this stream was in the group to hear it.
        if viewer.kind == OVERLAY and not await database_sync_to_async(overlay_token_ok)(request.GET.get("token")):
            listener.leave()
            return problem_response(request, status=401, code="not_authenticated", detail="Sign in or use ?token=.")
        include_leaderboard = (
            viewer.sees_staff_events or await database_sync_to_async(payloads.leaderboard_visible_to_teams)()
        )
        snapshot = await database_sync_to_async(payloads.snapshot)(include_leaderboard=include_leaderboard)
    except BaseException:
        listener.leave()  # no stream: nothing may go on being handed to it
        raise
    response = StreamingHttpResponse(
        _stream(
            listener,
            viewer,
            envelope("snapshot", snapshot),
            session_key=request.session.session_key,
            by_token="HTTP_AUTHORIZATION" in request.META,
        ),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # proxies must not hold events back
    asyncio.get_running_loop().call_later(UNSTARTED_SECONDS, listener.leave_unless_started)
    return response


async def _stream(
    listener: Listener, viewer: Viewer, snapshot: dict, *, session_key: str | None, by_token: bool
) -> AsyncIterator[str]:
    listener.started = True
    metrics.LIVE_CONNECTIONS.labels("sse").inc()
    try:
        yield _frame(snapshot)  # then, in order, what happened since the stream joined its groups
        while True:
            try:
                async with asyncio.timeout(settings.SSE_HEARTBEAT_SECONDS):
                    message = await listener.events.get()
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
            if message is None:
                return  # too far behind, or events lost: the client reconnects for a fresh snapshot
            if message["type"] == "session_ended":
                if viewer.user is not None and connection_ends(
                    message["event"]["data"], session_key=session_key, by_token=by_token
                ):
                    return  # signed out or password changed: the stream ends
                continue
            if message["type"] == "overlay_token_rotated":
                if viewer.kind == OVERLAY:
                    return  # the URL carries the old token: the stream ends
                continue
            if message["type"] in EVENT_TYPES and viewer.may_see(message.get("audience", "all")):
                yield f"data: {message['text']}\n\n" if "text" in message else _frame(message["event"])
    finally:
        metrics.LIVE_CONNECTIONS.labels("sse").dec()
        # The client went away (Django cancels the stream), the stream ended, or the server stops.
        listener.leave()

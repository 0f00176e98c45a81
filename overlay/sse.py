"""Server-Sent Events `GET /api/obs/events`: the WebSocket's events for clients that only read."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable

from channels.db import database_sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from common import metrics
from common.problems import problem_response
from overlay import domain
from overlay.delivery import POLL_SECONDS, SERVER_SEND, Mailbox, Subscription, high_water, server_backlog
from overlay.events import EVENT_TYPES, connection_ends, envelope, remember_server_loop
from overlay.hub import Hub, current_hub
from overlay.viewers import OVERLAY, OVERLAY_VIEWER, TopicsRefused, Viewer, topics_from_query

logger = logging.getLogger(__name__)

# A stream whose response Django dropped unsent (its client went before the first byte) never
# runs; its listener leaves the hub after this long. A stream starts within milliseconds.
UNSTARTED_SECONDS = 30.0
STREAMED = frozenset(EVENT_TYPES)


def _frame(event: dict) -> str:
    return f"data: {json.dumps(event)}\n\n"


def _user_for_api_token(header: str):
    """The user of an `Authorization: Token <key>` header, checked as the API checks it."""
    kind, _, key = header.partition(" ")
    if kind != "Token" or not key.strip():
        return None
    return domain.user_for_api_token(key.strip())


async def _viewer(request: HttpRequest) -> tuple[Viewer | None, int]:
    token = request.GET.get("token")
    if token is not None:
        token_ok = await database_sync_to_async(domain.overlay_token_ok)(token)
        return (OVERLAY_VIEWER, 0) if token_ok else (None, 401)
    authorization = request.headers.get("Authorization")
    # In Channels' database thread, which closes the connection it used (a plain sync_to_async
    # thread would keep it, and keep a dead one after a database restart).
    user = await database_sync_to_async(_user_for_api_token)(authorization) if authorization else await request.auser()
    if user is not None:
        request.user = user  # the request's log line names who opened the stream
    viewer = await database_sync_to_async(domain.viewer_for_user)(user)
    if viewer is None:
        return None, 403 if user is not None and user.is_authenticated else 401
    return viewer, 0


class Listener:
    """One stream's place among its process's live connections (`overlay.hub.Member`): the hub
    hands it each event of the stream's topics, which wait in its mailbox until the stream writes
    them, as fast as the client reads (overlay.delivery: a newer price or leaderboard replaces one
    still waiting).

    A stream with more than `CHANNEL_CAPACITY` events waiting even so, or whose events may have
    been lost (the channel layer failed), ends: the browser's EventSource reconnects and starts
    again from a fresh snapshot, rather than show a market with gaps in it. So does a stream whose
    team signed out, or whose overlay token was rotated. It leaves the hub then, whether or not its
    stream ever ran, and leaves it too if its stream has not started within UNSTARTED_SECONDS (a
    client gone before the first byte: Django drops the response unsent, and the stream's own
    ending never comes)."""

    def __init__(
        self, live: Hub | None, viewer: Viewer, topics: frozenset[str], *, session_key: str | None, by_token: bool
    ) -> None:
        self.live = live
        self.viewer = viewer
        self.topics = topics
        self.groups = viewer.groups(topics)
        self.address = viewer.address
        self.subscription = Subscription(viewer, topics)
        self.mailbox = Mailbox(settings.CHANNEL_CAPACITY)
        self.ready = asyncio.Event()
        self.backlog: Callable[[], int] = lambda: 0
        self.session_key = session_key
        self.by_token = by_token
        self.started = False
        self.ended = False

    async def join(self) -> None:
        if self.live is not None:
            await self.live.join(self, self.groups)

    def leave(self) -> None:
        self.ended = True
        self.ready.set()
        if self.live is not None:
            self.live.forget(self, self.groups)  # no await: the stream's task may be cancelled

    async def hub_message(self, message: dict) -> None:
        if self.ended:
            return
        kind = message["type"]
        if kind == "session_ended":
            data = message["event"]["data"]
            if self.viewer.user is not None and connection_ends(
                data, session_key=self.session_key, by_token=self.by_token
            ):
                self.end()  # signed out or password changed: the stream ends
            return
        if kind == "overlay_token_rotated":
            if self.viewer.kind == OVERLAY:
                self.end()  # the URL carries the old token: the stream ends
            return
        if kind not in STREAMED:
            return
        # Folded only while the client is behind: a stream that keeps up gets every price. What
        # the subscription lets through is decided as each is written (next): after the
        # snapshot, whose rank it then knows.
        if not self.mailbox.put(message, fold=self.backlog() > high_water()):
            metrics.LIVE_TOO_SLOW.labels("sse").inc()
            logger.warning("live events: an SSE stream fell %s events behind and ends", len(self.mailbox))
            self.end()
            return
        self.ready.set()

    async def next(self) -> dict | None:
        """The next event to write, once the client has taken what was written before it; None when
        the stream ends. TimeoutError when nothing was written for a heartbeat's time."""
        async with asyncio.timeout(settings.SSE_HEARTBEAT_SECONDS):
            while self.mailbox or not self.ended:
                if not self.mailbox:
                    self.ready.clear()
                    await self.ready.wait()
                elif self.backlog() > high_water() and not self.ended:
                    await asyncio.sleep(POLL_SECONDS)  # the client is behind: let the mailbox fold
                else:
                    deliverable = self.subscription.deliverable(self.mailbox.take())
                    if deliverable is not None:
                        return deliverable
        return None

    async def hub_lost(self) -> None:
        self.end(flush=True)  # what came before the failure still goes out, then the stream ends

    def leave_unless_started(self) -> None:
        if not self.started:
            self.end()

    def end(self, *, flush: bool = False) -> None:
        """Nothing more is taken; the stream ends once it has written what waits (`flush`), or at
        once, what waits dropped (a fresh snapshot replaces it; a closed session sees no more)."""
        if not self.ended:
            if not flush:
                self.mailbox.clear()
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
    try:
        topics = topics_from_query(request.META.get("QUERY_STRING", ""), viewer)
    except TopicsRefused as refused:
        return problem_response(
            request, status=400, code="validation_error", detail=str(refused), errors={"topics": [str(refused)]}
        )
    listener = Listener(
        current_hub(),
        viewer,
        topics,
        session_key=request.session.session_key,
        by_token="HTTP_AUTHORIZATION" in request.META,
    )
    await listener.join()
    try:
        # Read again once subscribed: a rotation that committed after the first read sent its
        # `overlay_token_rotated` before this stream was in the group to hear it.
        token_ok = domain.overlay_token_ok
        if viewer.kind == OVERLAY and not await database_sync_to_async(token_ok)(request.GET.get("token")):
            listener.leave()
            return problem_response(request, status=401, code="not_authenticated", detail="Sign in or use ?token=.")
        snapshot = await database_sync_to_async(domain.snapshot)(viewer, topics)
    except BaseException:
        listener.leave()  # no stream: nothing may go on being handed to it
        raise
    listener.subscription.remember_rank(snapshot.get("portfolio"))
    listener.backlog = server_backlog(request.scope.get(SERVER_SEND))
    response = StreamingHttpResponse(
        _stream(listener, envelope("snapshot", snapshot)), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # proxies must not hold events back
    asyncio.get_running_loop().call_later(UNSTARTED_SECONDS, listener.leave_unless_started)
    return response


async def _stream(listener: Listener, snapshot: dict) -> AsyncIterator[str]:
    listener.started = True
    metrics.LIVE_CONNECTIONS.labels("sse").inc()
    try:
        yield _frame(snapshot)  # then, in order, what happened since the stream joined its groups
        while True:
            try:
                message = await listener.next()
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
            if message is None:
                return  # ended: the client reconnects for a fresh snapshot, if it may
            yield f"data: {message['text']}\n\n"
    finally:
        metrics.LIVE_CONNECTIONS.labels("sse").dec()
        # The client went away (Django cancels the stream), the stream ended, or the server stops.
        listener.leave()

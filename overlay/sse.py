"""Server-Sent Events `GET /api/obs/events`: the WebSocket's events for clients that only read."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET
from rest_framework.exceptions import AuthenticationFailed

from accounts.authentication import TokenAuthentication
from brainstorm import metrics
from brainstorm.problems import problem_response
from overlay import payloads
from overlay.events import connection_ends, envelope, remember_server_loop, unbatched
from overlay.viewers import OVERLAY, OVERLAY_VIEWER, Viewer, overlay_token_ok, viewer_for_user

logger = logging.getLogger(__name__)


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
    viewer = await database_sync_to_async(viewer_for_user)(user)
    if viewer is None:
        return None, 403 if user is not None and user.is_authenticated else 401
    return viewer, 0


@require_GET
async def obs_events(request: HttpRequest) -> HttpResponse:
    remember_server_loop()
    viewer, status = await _viewer(request)
    if viewer is None:
        if status == 401:
            return problem_response(request, status=401, code="not_authenticated", detail="Sign in or use ?token=.")
        return problem_response(request, status=403, code="permission_denied", detail="You may not watch.")
    layer = get_channel_layer()
    channel = await layer.new_channel("sse.")
    for group in viewer.groups:
        await layer.group_add(group, channel)
    # Read again once subscribed: a rotation that committed after the first read sent its
    # `overlay_token_rotated` before this stream was in the group to hear it.
    if viewer.kind == OVERLAY and not await database_sync_to_async(overlay_token_ok)(request.GET.get("token")):
        for group in viewer.groups:
            await layer.group_discard(group, channel)
        return problem_response(request, status=401, code="not_authenticated", detail="Sign in or use ?token=.")
    include_leaderboard = (
        viewer.sees_staff_events or await database_sync_to_async(payloads.leaderboard_visible_to_teams)()
    )
    snapshot = await database_sync_to_async(payloads.snapshot)(include_leaderboard=include_leaderboard)
    response = StreamingHttpResponse(
        _stream(
            layer,
            channel,
            viewer,
            envelope("snapshot", snapshot),
            session_key=request.session.session_key,
            by_token="HTTP_AUTHORIZATION" in request.META,
        ),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # proxies must not hold events back
    return response


async def _stream(
    layer, channel: str, viewer: Viewer, snapshot: dict, *, session_key: str | None, by_token: bool
) -> AsyncIterator[str]:
    metrics.LIVE_CONNECTIONS.labels("sse").inc()
    try:
        yield _frame(snapshot)
        while True:
            try:
                async with asyncio.timeout(settings.SSE_HEARTBEAT_SECONDS):
                    received = await layer.receive(channel)
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
            for message in unbatched(received):
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
                if viewer.may_see(message.get("audience", "all")):
                    yield f"data: {message['text']}\n\n" if "text" in message else _frame(message["event"])
    finally:
        metrics.LIVE_CONNECTIONS.labels("sse").dec()
        # The client went away (Django cancels the stream) or the server stops.
        for group in viewer.groups:
            await layer.group_discard(group, channel)

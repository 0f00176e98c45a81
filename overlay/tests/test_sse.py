"""SSE /api/obs/events: the same events as the socket, as text/event-stream, with heartbeats."""

import asyncio
import json
import time
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.test import AsyncClient, override_settings

from market import services
from overlay.events import envelope, layer_message
from overlay.tests.conftest import TOKEN, group_size, run

pytestmark = pytest.mark.django_db(transaction=True)


def parse(chunk) -> str:
    return chunk.decode() if isinstance(chunk, bytes) else chunk


async def next_data(stream) -> dict:
    """The next `data:` frame, skipping heartbeats."""
    while True:
        chunk = parse(await anext(stream))
        if chunk.startswith("data: "):
            return json.loads(chunk.removeprefix("data: "))


async def overlay_stream():
    """An overlay's stream with its snapshot read: what comes after it."""
    response = await AsyncClient().get(f"/api/obs/events?token={TOKEN}")
    stream = aiter(response.streaming_content)
    assert (await next_data(stream))["type"] == "snapshot"
    return stream


def test_stream_starts_with_the_snapshot_and_carries_live_events(company):
    async def scenario():
        response = await AsyncClient().get(f"/api/obs/events?token={TOKEN}")
        stream = aiter(response.streaming_content)
        snapshot = await next_data(stream)
        await database_sync_to_async(services.market_open)(by=None)
        bell = await next_data(stream)
        await database_sync_to_async(services.price_set)(company=company, price=Decimal("10.10"), by=None)
        price = await next_data(stream)
        await stream.aclose()
        return response, snapshot, bell, price

    response, snapshot, bell, price = run(scenario)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-cache"
    assert snapshot["type"] == "snapshot"
    assert snapshot["data"]["companies"][0]["ticker"] == "ACME"
    assert (bell["type"], bell["data"]["action"], bell["data"]["day"]) == ("bell", "start_day", 1)
    assert (price["type"], price["data"]["price"]) == ("price", "10.10")


@override_settings(SSE_HEARTBEAT_SECONDS=0.05)
def test_a_quiet_stream_sends_heartbeat_comments():
    async def scenario():
        stream = await overlay_stream()
        beats = [parse(await anext(stream)) for _ in range(2)]
        await stream.aclose()
        return beats

    assert run(scenario) == [": heartbeat\n\n", ": heartbeat\n\n"]


def test_a_client_going_away_ends_the_stream_and_leaves_the_group():
    from asgiref.testing import ApplicationCommunicator
    from channels.layers import get_channel_layer

    from brainstorm.asgi import application
    from overlay.events import MARKET_GROUP

    layer = get_channel_layer()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/obs/events",
        "raw_path": b"/api/obs/events",
        "query_string": f"token={TOKEN}".encode(),
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def scenario():
        server = ApplicationCommunicator(application, scope)
        await server.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await server.receive_output(timeout=3)
        first = await server.receive_output(timeout=3)
        during = await group_size(layer, MARKET_GROUP)
        await server.send_input({"type": "http.disconnect"})
        await server.wait(timeout=3)  # the response task ends: it does not stream forever
        after = await group_size(layer, MARKET_GROUP)
        return start, first, during, after

    start, first, during, after = run(scenario)
    assert start["status"] == 200
    assert first["body"].startswith(b"data: ")
    assert during >= 1
    assert after == during - 1


@pytest.mark.parametrize("query", ["", "?token=wrong"])
def test_stream_refuses_strangers_with_a_problem(query):
    async def scenario():
        return await AsyncClient().get(f"/api/obs/events{query}")

    response = run(scenario)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("signed_in_by", ["api token", "session"])
def test_a_team_streams_and_its_request_line_names_it(team, signed_in_by, log_lines):
    from rest_framework.authtoken.models import Token

    key = Token.objects.create(user=team.user).key

    async def scenario():
        client = AsyncClient()
        if signed_in_by == "session":
            await client.aforce_login(team.user)
            response = await client.get("/api/obs/events")
        else:
            response = await client.get("/api/obs/events", headers={"Authorization": f"Token {key}"})
        stream = aiter(response.streaming_content)
        first = await next_data(stream)
        await stream.aclose()
        return first

    assert run(scenario)["type"] == "snapshot"
    [line] = [line for line in log_lines() if line["logger"] == "brainstorm.requests"]
    assert (line["path"], line["status"], line["user_id"]) == ("/api/obs/events", 200, str(team.user.pk))


def test_a_wrong_api_token_is_refused():
    async def scenario():
        return await AsyncClient().get("/api/obs/events", headers={"Authorization": "Token not-a-real-key"})

    response = run(scenario)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_batch_of_events_reaches_the_stream_as_its_events_in_order():
    from channels.layers import get_channel_layer

    from overlay.events import MARKET_GROUP, envelope, layer_message

    messages = [layer_message(envelope("price", {"ticker": "ACME", "price": f"2{n}.00"})) for n in range(3)]

    async def scenario():
        stream = await overlay_stream()
        await get_channel_layer().group_send(
            MARKET_GROUP, {"type": "batch", "group": MARKET_GROUP, "messages": messages}
        )
        got = [await next_data(stream) for _ in range(3)]
        await stream.aclose()
        return got

    assert [event["data"]["price"] for event in run(scenario)] == ["20.00", "21.00", "22.00"]


def test_an_event_for_a_stream_alone_arrives_at_once_beside_the_process_sockets(team):
    """A team's stream is the only listener of its portfolio events; an overlay socket on the same
    server waits for market events meanwhile. The stream's event must not wait for the socket's
    (on Redis a receiver waits up to 5 s for events; two receivers of one process took turns)."""
    from rest_framework.authtoken.models import Token

    from overlay.events import MARKET_GROUP
    from overlay.tests.conftest import connected

    key = Token.objects.create(user=team.user).key

    async def scenario():
        overlay = await connected()  # the process's sockets are now waiting for market events
        response = await AsyncClient().get("/api/obs/events", headers={"Authorization": f"Token {key}"})
        stream = aiter(response.streaming_content)
        await next_data(stream)  # snapshot
        await asyncio.sleep(0.2)  # every receiver back to waiting
        sent = time.monotonic()
        await get_channel_layer().group_send(
            MARKET_GROUP, layer_message(envelope("portfolio", {"cash": "1.00"}), to=team.user.pk)
        )
        portfolio = await asyncio.wait_for(next_data(stream), timeout=4)
        waited = time.monotonic() - sent
        await stream.aclose()
        await overlay.disconnect()
        return portfolio, waited

    portfolio, waited = run(scenario)
    assert portfolio["data"]["cash"] == "1.00"
    assert waited < 1.0


@override_settings(CHANNEL_CAPACITY=3)
def test_a_stream_too_far_behind_ends_so_its_client_starts_again_from_a_snapshot():
    from overlay.hub import current_hub

    async def scenario():
        stream = await overlay_stream()
        (listener,) = {member for members in current_hub().members.values() for member in members}
        for n in range(5):  # handed over faster than the stream sends them
            await listener.hub_message(layer_message(envelope("price", {"ticker": "ACME", "price": f"2{n}.00"})))
        # Out of the hub at once, before its stream runs again (a stream that never runs has
        # no ending of its own to leave by).
        members_at_once = {group: set(members) for group, members in current_hub().members.items()}
        with pytest.raises(StopAsyncIteration):  # what waited is moot: a fresh snapshot replaces it
            await next_data(stream)
        return members_at_once, current_hub().members

    members_at_once, members = run(scenario)
    assert members_at_once == members == {}  # and it is no longer handed events


def test_a_stream_whose_response_is_never_sent_leaves_the_hub(monkeypatch):
    """The client went before the first byte: Django drops the response and never runs the stream,
    so the stream's own ending never comes; its listener must not stay in the hub for ever."""
    from overlay import sse
    from overlay.hub import current_hub

    monkeypatch.setattr(sse, "UNSTARTED_SECONDS", 0.05)

    async def scenario():
        response = await AsyncClient().get(f"/api/obs/events?token={TOKEN}")  # never read
        joined = {group: set(members) for group, members in current_hub().members.items()}
        await asyncio.sleep(0.3)
        return response.status_code, joined, current_hub().members

    from overlay.events import MARKET_GROUP

    status, joined, members = run(scenario)
    assert status == 200
    assert len(joined[MARKET_GROUP]) == 1  # it had joined
    assert members == {}  # and left unstarted


def test_a_channel_layer_failure_ends_the_stream_so_its_client_starts_again(monkeypatch):
    from overlay.events import send_now
    from overlay.hub import current_hub

    layer = get_channel_layer()

    async def failing_receive(channel):
        raise ConnectionError("Redis went away")

    async def scenario():
        stream = await overlay_stream()
        monkeypatch.setattr(layer, "receive", failing_receive)  # the hub's next read fails
        send_now(envelope("news", {"id": 1, "title": "Still delivered"}))  # ends the read under way
        news = await next_data(stream)
        async with asyncio.timeout(3):
            with pytest.raises(StopAsyncIteration):
                await next_data(stream)  # events may be missing from here: the stream ends
        return news, current_hub().members

    news, members = run(scenario)
    assert news["data"]["title"] == "Still delivered"
    assert members == {}

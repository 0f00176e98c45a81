"""Rotating the overlay token ends every live connection opened with a token, at once: sockets
close with 4401 and SSE streams end. Teams and organisers on the same market group stay."""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from django.test import AsyncClient
from rest_framework.authtoken.models import Token

from market import live, services
from market.models import EventSettings
from overlay import domain
from overlay.tests.conftest import TOKEN, closed_with, connected, run, session_headers, socket

# Real commits: the control message goes out after the rotation commits, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


def committed(change):
    return database_sync_to_async(change)()


async def next_data(stream, timeout: float = 3.0) -> dict:
    """The next `data:` frame, skipping heartbeats; StopAsyncIteration when the stream has ended."""
    while True:
        chunk = await asyncio.wait_for(anext(stream), timeout)
        chunk = chunk.decode() if isinstance(chunk, bytes) else chunk
        if chunk.startswith("data: "):
            return json.loads(chunk.removeprefix("data: "))


async def ended(stream, timeout: float = 3.0) -> bool:
    try:
        await next_data(stream, timeout)
    except StopAsyncIteration:
        return True
    return False


def test_a_rotation_closes_the_open_overlay_sockets_and_leaves_teams_and_organisers_connected(team, admin_user):
    teams_headers, organisers_headers = session_headers(team.user), session_headers(admin_user)

    async def scenario():
        scene = await connected()
        ticker = await connected(f"/api/ws?token={TOKEN}&theme=light")
        teams_socket = await connected("/api/ws", teams_headers)
        organisers_socket = await connected("/api/ws", organisers_headers)
        await committed(lambda: services.overlay_token_rotate(by=admin_user))
        codes = [await closed_with(scene), await closed_with(ticker, 0.5)]
        codes += [await closed_with(teams_socket, 0.3), await closed_with(organisers_socket, 0.3)]
        # Still live, and the rotation itself never reached them as a message.
        await committed(lambda: services.market_open(by=admin_user))
        after = [(await ws.receive_json_from(timeout=3))["type"] for ws in (teams_socket, organisers_socket)]
        for ws in (teams_socket, organisers_socket):
            await ws.disconnect()
        return codes, after

    codes, after = run(scenario)

    assert codes == [4401, 4401, None, None]
    assert after == ["bell", "bell"]


def test_an_overlay_on_the_new_token_stays_open_on_the_next_rotation_only_until_it(admin_user):
    new = services.overlay_token_rotate(by=admin_user)

    async def scenario():
        on_new = await connected(f"/api/ws?token={new}")
        await committed(lambda: services.market_open(by=admin_user))
        event = (await on_new.receive_json_from(timeout=3))["type"]
        await committed(lambda: services.overlay_token_rotate(by=admin_user))
        return event, await closed_with(on_new)

    assert run(scenario) == ("bell", 4401)


def test_a_rotation_ends_the_open_overlay_streams_and_leaves_a_teams_stream_open(team, admin_user):
    key = Token.objects.create(user=team.user).key

    async def scenario():
        overlay = await AsyncClient().get(f"/api/obs/events?token={TOKEN}")
        teams = await AsyncClient().get("/api/obs/events", headers={"Authorization": f"Token {key}"})
        overlay_stream, teams_stream = aiter(overlay.streaming_content), aiter(teams.streaming_content)
        firsts = [(await next_data(s))["type"] for s in (overlay_stream, teams_stream)]
        await committed(lambda: services.overlay_token_rotate(by=admin_user))
        overlay_ended = await ended(overlay_stream)
        await committed(lambda: services.market_open(by=admin_user))
        teams_next = (await next_data(teams_stream))["type"]
        await teams_stream.aclose()
        return firsts, overlay_ended, teams_next

    firsts, overlay_ended, teams_next = run(scenario)

    assert firsts == ["snapshot", "snapshot"]
    assert overlay_ended
    assert teams_next == "bell"  # the rotation was not sent to the team as an event


def rotated_right_after_the_first_check(real_check):
    """The token check, with a rotation committing just after its first read: the rotation's
    message went out before the new connection joined the group, so only a second read can see it."""
    reads = []

    def check(token):
        ok = real_check(token)
        if not reads:
            EventSettings.objects.filter(pk=1).update(overlay_token="rotated-meanwhile")
        reads.append(ok)
        return ok

    return check


def test_a_socket_connecting_while_the_token_rotates_is_closed(event_settings, monkeypatch):
    checked = rotated_right_after_the_first_check(live.overlay_token_ok)
    monkeypatch.setitem(domain._hooks, "overlay_token_ok", checked)

    async def scenario():
        ws = socket(f"/api/ws?token={TOKEN}")
        await ws.connect()
        first = await ws.receive_output(timeout=3)
        await ws.disconnect()
        return first

    assert run(scenario) == {"type": "websocket.close", "code": 4401}


def test_a_stream_opening_while_the_token_rotates_is_refused(event_settings, monkeypatch):
    checked = rotated_right_after_the_first_check(live.overlay_token_ok)
    monkeypatch.setitem(domain._hooks, "overlay_token_ok", checked)

    async def scenario():
        return await AsyncClient().get(f"/api/obs/events?token={TOKEN}")

    response = run(scenario)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"

"""Teams online: a team counts while it has a live socket open, and only teams count."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import cache

from overlay import presence
from overlay.tests.conftest import TOKEN, run, session_headers, socket

# Real commits, as in test_websocket: consumers close stale connections between calls.
pytestmark = pytest.mark.django_db(transaction=True)


async def open_socket(path="/api/ws", headers=None):
    ws = socket(path, headers)
    connected, _ = await ws.connect()
    assert connected
    first = await ws.receive_json_from()
    assert first["type"] == "snapshot"
    return ws


async def ping(ws) -> None:
    await ws.send_json_to({"type": "ping"})
    assert (await ws.receive_json_from())["type"] == "pong"


async def online(*user_ids) -> set:
    return await sync_to_async(presence.online_user_ids)(user_ids)


def test_a_team_with_a_socket_open_is_online_and_offline_once_it_closes(team, other_team):
    headers, teams = session_headers(team.user), (team.user_id, other_team.user_id)

    async def scenario():
        ws = await open_socket(headers=headers)
        while_open = await online(*teams)
        await ws.disconnect()
        return while_open, await online(*teams)

    while_open, after = run(scenario)

    assert while_open == {team.user_id}  # the other team has no socket open
    assert after == set()


def test_a_team_with_two_sockets_stays_online_until_both_close(team):
    laptop_headers, phone_headers = session_headers(team.user), session_headers(team.user)

    async def scenario():
        laptop = await open_socket(headers=laptop_headers)
        phone = await open_socket(headers=phone_headers)
        await laptop.disconnect()
        one_left = await online(team.user_id)
        await phone.disconnect()
        return one_left, await online(team.user_id)

    assert run(scenario) == ({team.user_id}, set())


def test_overlay_and_organiser_sockets_are_not_teams_online(admin_user, team):
    headers = session_headers(admin_user)

    async def scenario():
        overlay = await open_socket(f"/api/ws?token={TOKEN}")
        organiser = await open_socket(headers=headers)
        await ping(overlay)
        await ping(organiser)
        seen = await online(admin_user.pk, team.user_id)
        keys = await sync_to_async(cache.get_many)([presence.presence_key(admin_user.pk)])
        await overlay.disconnect()
        await organiser.disconnect()
        return seen, keys

    assert run(scenario) == (set(), {})


def test_a_ping_puts_back_a_team_whose_mark_was_lost(team):
    headers = session_headers(team.user)

    async def scenario():
        ws = await open_socket(headers=headers)
        await sync_to_async(cache.delete)(presence.presence_key(team.user_id))
        lost = await online(team.user_id)
        await ping(ws)
        back = await online(team.user_id)
        await ws.disconnect()
        return lost, back

    assert run(scenario) == (set(), {team.user_id})


def test_a_team_whose_socket_stops_pinging_goes_offline_when_its_mark_expires(team, monkeypatch):
    # A server process that dies closes nothing: the mark ends on its own.
    monkeypatch.setattr(presence, "PRESENCE_TTL", 1)
    headers = session_headers(team.user)

    async def scenario():
        ws = await open_socket(headers=headers)
        fresh = await online(team.user_id)
        await asyncio.sleep(1.2)
        stale = await online(team.user_id)
        await ws.disconnect()
        return fresh, stale

    assert run(scenario) == ({team.user_id}, set())


def test_a_refused_socket_is_not_online(team):
    headers = session_headers(team.user, origin="https://evil.example")

    async def scenario():
        ws = socket("/api/ws", headers)
        await ws.connect()
        closed = await ws.receive_output(timeout=2)
        seen = await online(team.user_id)
        await ws.disconnect()
        return closed["code"], seen

    assert run(scenario) == (4403, set())

"""Signing out or changing the password closes the team's open live connections (but not the
other browsers' on sign-out, nor this browser's on a password change), so a shared computer stops
streaming a team's portfolio once the team has left it."""

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from conftest import TEAM_PASSWORD
from overlay.tests.conftest import TOKEN, closed_with, connected, run, socket

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "a-brand-new-passphrase"


def browser(user) -> tuple[Client, list[tuple[bytes, bytes]]]:
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}; csrftoken=x"
    return client, [(b"cookie", cookie.encode()), (b"origin", b"http://testserver")]


def post(client: Client, path: str, data: dict | None = None):
    return database_sync_to_async(client.post)(path, data or {})


def test_sign_out_closes_this_browsers_socket_and_leaves_the_others_open(team, other_team):
    laptop, laptop_headers = browser(team.user)
    _phone, phone_headers = browser(team.user)
    _theirs, their_headers = browser(other_team.user)

    async def scenario():
        on_laptop = await connected("/api/ws", laptop_headers)
        on_phone = await connected("/api/ws", phone_headers)
        other_team_socket = await connected("/api/ws", their_headers)
        overlay = socket(f"/api/ws?token={TOKEN}")
        await overlay.connect()
        await overlay.receive_json_from()
        response = await post(laptop, "/signout/")
        codes = [await closed_with(ws, timeout) for ws, timeout in ((on_laptop, 2), (on_phone, 0.5))]
        codes += [await closed_with(other_team_socket, 0.3), await closed_with(overlay, 0.3)]
        for ws in (on_phone, other_team_socket, overlay):
            await ws.disconnect()
        return response.status_code, codes

    status, codes = run(scenario)

    assert status == 302
    assert codes == [4401, None, None, None]


def test_a_password_change_closes_the_other_browsers_and_keeps_this_one(team):
    laptop, laptop_headers = browser(team.user)
    _phone, phone_headers = browser(team.user)

    async def scenario():
        on_phone = await connected("/api/ws", phone_headers)
        on_laptop = await connected("/api/ws", laptop_headers)
        response = await post(
            laptop,
            "/settings/password/",
            {"old_password": TEAM_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        )
        codes = [await closed_with(on_phone, 2), await closed_with(on_laptop, 0.5)]
        await on_laptop.disconnect()
        return response.status_code, codes

    status, codes = run(scenario)

    assert status == 302
    # The laptop's socket stays: its browser is still signed in (with a new session key, which a
    # reconnect picks up); the phone's closes with "unauthenticated".
    assert codes == [4401, None]

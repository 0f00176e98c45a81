"""The overlay token can be rotated from the control room: the new token works at once, and every
URL with the old one (or with the OVERLAY_TOKEN variable the event started with) stops working."""

import json
import re
from html import unescape
from io import StringIO

import pytest
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from django.test import AsyncClient, Client, override_settings

from brainstorm.asgi import application
from market import services
from market.live import current_overlay_token
from market.models import AuditEntry, EventSettings
from overlay.tests.conftest import TOKEN, run

pytestmark = pytest.mark.django_db

ROOM = "/admin/control-room/"
ROTATE = "/admin/control-room/overlay-token"
PAGES = ["/overlay/", "/overlay/ticker", "/overlay/leaderboard", "/overlay/news", "/overlay/bell"]


@pytest.fixture
def organiser(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def text(response) -> str:
    return unescape(re.sub(r"\s+", " ", response.content.decode()))


def overlay_page(token: str):
    return Client().get("/overlay/", {"token": token})


def socket_answer(token: str) -> dict:
    """The first thing the WebSocket says to an overlay with this token: a snapshot or a close."""

    async def scenario():
        ws = WebsocketCommunicator(application, f"/api/ws?token={token}")
        await ws.connect()
        first = await ws.receive_output(timeout=3)
        await ws.disconnect()
        return first

    first = run(scenario)
    if first["type"] == "websocket.send":
        return {"type": json.loads(first["text"])["type"]}
    return {"type": first["type"], "code": first.get("code")}


def stream_answer(token: str) -> tuple[int, str]:
    """The SSE stream's status for this token, and its first frame (or problem code)."""

    async def scenario():
        response = await AsyncClient().get("/api/obs/events", {"token": token})
        if response.status_code != 200:
            return response.status_code, response.json()["code"]
        stream = aiter(response.streaming_content)
        first = await anext(stream)
        await stream.aclose()
        first = first.decode() if isinstance(first, bytes) else first
        return 200, json.loads(first.removeprefix("data: "))["type"]

    return run(scenario)


# The token itself


def test_the_environment_token_works_until_the_first_rotation(admin_user):
    assert current_overlay_token() == TOKEN
    assert overlay_page(TOKEN).status_code == 200

    new = services.overlay_token_rotate(by=admin_user)

    assert new != TOKEN
    assert len(new) >= 32  # 24 random bytes, URL-safe
    assert current_overlay_token() == new
    assert overlay_page(TOKEN).status_code == 403
    with override_settings(OVERLAY_TOKEN="set-again-and-restarted"):
        # A rotated token stays in force: the variable cannot bring an old token back.
        assert current_overlay_token() == new
        assert overlay_page("set-again-and-restarted").status_code == 403


def test_each_rotation_retires_the_token_before_it(admin_user):
    first = services.overlay_token_rotate(by=admin_user)
    second = services.overlay_token_rotate(by=admin_user)

    assert first != second
    assert overlay_page(first).status_code == 403
    assert overlay_page(second).status_code == 200


@pytest.mark.parametrize("path", PAGES)
def test_after_a_rotation_the_old_url_shows_the_refusal_page_and_the_new_one_the_overlay(admin_user, company, path):
    new = services.overlay_token_rotate(by=admin_user)

    old_page = Client().get(path, {"token": TOKEN})
    new_page = Client().get(path, {"token": new})

    assert old_page.status_code == 403
    assert "Copy the overlay URL from the control room again" in old_page.content.decode()
    assert "overlay.js" not in old_page.content.decode() and "ACME" not in old_page.content.decode()
    assert new_page.status_code == 200
    assert f'data-token="{new}"' in new_page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_after_a_rotation_the_socket_refuses_the_old_token_and_accepts_the_new_one(admin_user):
    assert socket_answer(TOKEN) == {"type": "snapshot"}

    new = services.overlay_token_rotate(by=admin_user)

    assert socket_answer(TOKEN) == {"type": "websocket.close", "code": 4401}
    assert socket_answer(new) == {"type": "snapshot"}


@pytest.mark.django_db(transaction=True)
def test_after_a_rotation_the_stream_refuses_the_old_token_and_accepts_the_new_one(admin_user):
    assert stream_answer(TOKEN) == (200, "snapshot")

    new = services.overlay_token_rotate(by=admin_user)

    assert stream_answer(TOKEN) == (401, "not_authenticated")
    assert stream_answer(new) == (200, "snapshot")


@override_settings(OVERLAY_TOKEN="")
def test_without_any_token_nobody_gets_in(admin_user):
    assert current_overlay_token() == ""
    assert overlay_page("").status_code == 403

    new = services.overlay_token_rotate(by=admin_user)

    assert overlay_page(new).status_code == 200


def test_a_rotation_is_audited_without_the_token(admin_user):
    new = services.overlay_token_rotate(by=admin_user)

    entry = AuditEntry.objects.get(action="overlay_token_rotate")
    assert entry.actor == admin_user
    assert entry.target == "eventsettings:1"
    assert entry.data == {"overlay_token": "rotated"}
    for secret in (new, TOKEN):
        assert secret not in json.dumps(entry.data) and secret not in entry.target


def test_the_token_is_not_an_event_settings_field_in_the_admin(organiser, admin_user):
    new = services.overlay_token_rotate(by=admin_user)

    page = organiser.get("/admin/market/eventsettings/1/change/")

    assert page.status_code == 200
    assert new not in page.content.decode()
    assert "overlay_token" not in page.content.decode()


# The control room


def test_the_control_room_rotates_the_token_and_shows_the_new_urls(organiser, admin_user):
    response = organiser.post(ROTATE, {"confirm": "on"})

    assert response.status_code == 302
    assert response["Location"] == f"{ROOM}#overlay"
    page = organiser.get(response["Location"])
    new = EventSettings.load().overlay_token
    assert new and new != TOKEN
    html = page.content.decode()
    for path in PAGES:
        assert f'value="http://testserver{path}?token={new}" readonly' in html
    assert TOKEN not in html
    assert "The overlay token is new" in text(page)
    assert "Put the new URLs below into every OBS browser source" in text(page)
    assert AuditEntry.objects.get(action="overlay_token_rotate").actor == admin_user


def test_the_control_room_explains_the_rotation_beside_its_confirmation(organiser):
    page = text(organiser.get(ROOM))

    assert "Rotate the overlay token" in page
    assert "every OBS browser source must be given its new URL" in page
    assert 'id="id_overlay_token_confirm"' in page and 'for="id_overlay_token_confirm"' in page


def test_without_i_am_sure_the_token_stays(organiser):
    response = organiser.post(ROTATE, {})

    assert response.status_code == 302
    page = organiser.get(response["Location"])
    assert current_overlay_token() == TOKEN
    assert not AuditEntry.objects.filter(action="overlay_token_rotate").exists()
    assert "The overlay token was not changed: Tick “I am sure” to rotate the overlay token." in text(page)
    assert f"?token={TOKEN}" in page.content.decode()


@override_settings(OVERLAY_TOKEN="")
def test_without_a_token_the_control_room_can_make_one(organiser):
    assert "Make an overlay token" in text(organiser.get(ROOM))

    organiser.post(ROTATE, {"confirm": "on"})

    page = organiser.get(ROOM).content.decode()
    assert f'value="http://testserver/overlay/?token={current_overlay_token()}" readonly' in page


def test_the_rotation_needs_the_csrf_token(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    response = client.post(ROTATE, {"confirm": "on"})

    assert response.status_code == 403
    assert current_overlay_token() == TOKEN


def test_the_rotation_is_a_post(organiser):
    assert organiser.get(ROTATE).status_code == 405
    assert current_overlay_token() == TOKEN


@pytest.mark.parametrize("who", ["nobody", "team"])
def test_only_organisers_can_rotate(request, who):
    client = Client()
    if who == "team":
        client.force_login(request.getfixturevalue("team").user)

    response = client.post(ROTATE, {"confirm": "on"})

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert current_overlay_token() == TOKEN
    assert overlay_page(TOKEN).status_code == 200
    assert not AuditEntry.objects.filter(action="overlay_token_rotate").exists()


@override_settings(DEBUG=True)
def test_seed_demo_prints_the_current_token(admin_user):
    new = services.overlay_token_rotate(by=admin_user)
    out = StringIO()
    call_command("seed_demo", stdout=out)

    assert f"/overlay/?token={new} " in out.getvalue()
    assert TOKEN not in out.getvalue()

"""The director in a real browser (headless Chromium) against a real server: two organisers' control
rooms and the stream's full-scene overlay open at once while the host previews and takes scenes,
then reveals the podium place by place."""

import os
import shutil
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from accounts.models import User
from market.models import Participant
from market.services import company_create
from newsroom.services import news_create
from organisers.models import Broadcast
from overlay.tests.servers import ROOT, TOKEN

# Committed data, so the server process sees it; once, on SQLite: the pages are the same on both.
pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]

SHOTS = ROOT / "docs" / "screenshots"
ROOM = "/admin/control-room/"
PASSWORD = "lantern-harbour-41"
WITHIN_MS = 3000
DESK = {"width": 1440, "height": 1000}
STAGE = {"width": 1920, "height": 1080}


@pytest.fixture
def show(db, admin_user, make_team, open_market):
    """Four teams with values by hand, a company, a published item, and two organisers who can sign in."""
    second = User.objects.create_superuser(email="floor@event.test", password=PASSWORD)
    # Passwords the server can check (the suite's fast hasher is not in the server's list).
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        for user in (admin_user, second):
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
    values = {"Aces": "130000.00", "Owls": "120000.00", "Bees": "110000.00", "Cats": "90000.00"}
    for name, value in values.items():
        team = make_team(name, school="SMA 1" if name != "Owls" else "SMA 2")
        Participant.objects.filter(pk=team.pk).update(portfolio_value=Decimal(value))
    company_create(by=None, ticker="ACME", name="Acme Robotics", current_price=Decimal("10.00"))
    news_create(by=None, title="Rates cut", content="By a quarter point.", published_at=timezone.now())
    return {"organisers": (admin_user, second)}


@pytest.fixture
def contexts(browser):
    """Browser profiles (one person's cookies each); no page may raise a script error."""
    opened, errors = [], []

    def new(viewport=DESK):
        context = browser.new_context(viewport=viewport)
        context.on("weberror", lambda error: errors.append(str(error.error)))
        opened.append(context)
        return context

    yield new
    for context in opened:
        context.close()
    assert errors == [], errors


def control_room(context, base: str, user: User):
    page = context.new_page()
    page.goto(f"{base}{ROOM}")  # to the admin's sign-in, and back
    page.fill("#id_username", user.email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}{ROOM}")
    page.wait_for_function("() => document.getElementById('director').dataset.live === '1'", timeout=5000)
    return page


def shows(page, selector: str, wanted: str, timeout: int = WITHIN_MS) -> None:
    """Wait until the element's text contains `wanted`."""
    page.wait_for_function(
        "([selector, wanted]) => (document.querySelector(selector)?.textContent || '').includes(wanted)",
        arg=[selector, wanted],
        timeout=timeout,
    )


def stream(contexts, base: str):
    """The full-scene overlay as OBS shows it."""
    page = contexts(STAGE).new_page()
    page.goto(f"{base}/overlay/?token={TOKEN}")
    settled(page, "market")
    return page


def settled(frame, scene: str, timeout: int = WITHIN_MS) -> None:
    """Wait until the full-scene page (the stream, or the preview's frame) shows `scene`, its
    cross-fade over."""
    frame.wait_for_function(
        "(scene) => document.body.dataset.scene === scene && document.body.dataset.settled !== '0'",
        arg=scene,
        timeout=timeout,
    )


def preview_of(room):
    """The preview's frame: the full-scene page, in preview mode."""
    return room.locator("#director iframe").element_handle().content_frame()


def scene_text(frame, scene: str) -> str:
    return frame.locator(f'#director .scene[data-scene="{scene}"]').inner_text()


ON_AIR = '#director [data-field="on-air"]'
SAID = '#director [data-role="director-said"]'
NEXT = '#director [data-field="podium-next"]'
PREVIEW_LABEL = '#director [data-field="preview-label"]'


def test_the_host_previews_a_scene_takes_it_and_every_organiser_sees_it_on_air(contexts, server, show, tmp_path):
    base = f"http://127.0.0.1:{server['port']}"
    host, floor = show["organisers"]
    room = control_room(contexts(), base, host)
    other = control_room(contexts(), base, floor)
    overlay = stream(contexts, base)
    for page in (room, other):
        assert page.locator(ON_AIR).inner_text() == "Market"

    # The keyboard alone: from Market to Leaderboard with an arrow key, then its option.
    room.get_by_role("radio", name="Market").focus()
    room.keyboard.press("ArrowDown")
    assert room.get_by_role("radio", name="Leaderboard").is_checked()
    assert room.get_by_label("How many").is_visible()
    assert room.get_by_label("Companies each way").is_hidden()  # another scene's option
    room.get_by_label("How many").fill("3")
    shows(room, PREVIEW_LABEL, "Leaderboard, top 3")
    # The preview is the overlay page itself, drawing the scene chosen; the stream is unchanged.
    preview = preview_of(room)
    settled(preview, "leaderboard")
    shown = scene_text(preview, "leaderboard")
    assert [name in shown for name in ("Aces", "Owls", "Bees", "Cats")] == [True, True, True, False]
    assert overlay.evaluate("document.body.dataset.scene") == "market"
    assert room.locator('#director [data-role="preview-frame"]').bounding_box()["height"] > 200  # 16:9, scaled

    # A wrong option: said beside the field and under the preview, nothing taken.
    room.get_by_label("How many").fill("99")
    shows(room, '#director [data-error-for="top"]', "A whole number from 1 to 50.")
    shows(room, '#director [data-role="preview-state"]', "Not previewed: The scene's top is not right")
    assert room.get_by_label("How many").get_attribute("aria-invalid") == "true"
    assert room.locator('#director [data-role="preview"]').get_attribute("data-stale") == "1"
    room.get_by_label("How many").fill("3")
    room.wait_for_function(
        "() => document.querySelector('#director [data-role=\"preview\"]').dataset.stale === '0'", timeout=WITHIN_MS
    )
    assert room.locator(PREVIEW_LABEL).inner_text() == "Leaderboard, top 3"
    assert room.locator('#director [data-error-for="top"]').inner_text() == ""

    # Take, with the keyboard: the page stays put; every organiser's screen names it on air.
    room.get_by_role("button", name="Take").focus()
    room.keyboard.press("Enter")
    shows(room, SAID, "On the stream now: Leaderboard, top 3.")
    for page in (room, other):
        shows(page, ON_AIR, "Leaderboard, top 3")
    assert room.url == f"{base}{ROOM}"
    assert room.evaluate("document.activeElement.textContent") == "Take"
    assert (Broadcast.load().scene, Broadcast.load().options) == ("leaderboard", {"top": 3})
    # The stream shows what the preview showed, to the letter.
    settled(overlay, "leaderboard")
    assert scene_text(overlay, "leaderboard") == scene_text(preview, "leaderboard")
    _shot(room, tmp_path, "control-room-director")

    # News, the latest published by default.
    room.locator("#director .scene-pick label").get_by_text("News", exact=True).click()
    assert room.get_by_role("radio", name="News").is_checked()
    shows(room, PREVIEW_LABEL, "News: “Rates cut”")
    settled(preview, "news")
    assert "Rates cut" in scene_text(preview, "news")
    room.get_by_role("button", name="Take").click()
    for page in (room, other):
        shows(page, ON_AIR, "News: “Rates cut”")
    settled(overlay, "news")
    assert scene_text(overlay, "news") == scene_text(preview, "news")


def test_the_podium_is_revealed_place_by_place_from_the_panel(contexts, server, show, tmp_path):
    base = f"http://127.0.0.1:{server['port']}"
    host, floor = show["organisers"]
    room = control_room(contexts(), base, host)
    other = control_room(contexts(), base, floor)
    overlay = stream(contexts, base)
    assert room.locator(NEXT).inner_text() == "Next to reveal: third place."

    room.get_by_role("button", name="Cover all").click()
    for page in (room, other):
        shows(page, ON_AIR, "Podium: every place covered")
    settled(overlay, "podium")
    assert not any(name in scene_text(overlay, "podium") for name in ("Aces", "Owls", "Bees"))

    reveal = room.get_by_role("button", name="Reveal next place")
    reveal.focus()
    steps = [
        ("Bees (SMA 1)", "Podium: third revealed", "Next to reveal: second place."),
        ("Owls (SMA 2)", "Podium: third and second revealed", "Next to reveal: first place."),
        ("Aces (SMA 1)", "Podium: third, second and first revealed", "Every place is revealed."),
    ]
    revealed = []
    for team, named, coming in steps:
        room.keyboard.press("Enter")
        shows(room, SAID, f"on the stream: {team}.")
        for page in (room, other):
            shows(page, ON_AIR, named)
            shows(page, NEXT, coming)
        # On the stream, this place now, and never one still to come.
        revealed.append(team.split(" (")[0])
        shows(overlay, '#director .scene[data-scene="podium"]', revealed[-1])
        podium = scene_text(overlay, "podium")
        hidden = [name for name in ("Bees", "Owls", "Aces") if name not in revealed]
        assert not any(name in podium for name in hidden), (revealed, podium)
    assert reveal.get_attribute("aria-disabled") == "true"
    assert room.evaluate("document.activeElement.textContent") == "Reveal next place"
    room.keyboard.press("Enter")  # nothing left: the press does nothing
    assert Broadcast.load().options == {"revealed": 3}

    # The other organiser starts the ceremony again.
    other.get_by_role("button", name="Cover all").click()
    for page in (room, other):
        shows(page, ON_AIR, "Podium: every place covered")
        shows(page, NEXT, "Next to reveal: third place.")
    assert reveal.get_attribute("aria-disabled") == "false"
    overlay.wait_for_function(
        "() => !document.querySelector('#director .scene[data-scene=\"podium\"]').textContent.includes('Aces')",
        timeout=WITHIN_MS,
    )

    # The panel previews a step before it is taken: the stream stays covered meanwhile.
    room.locator("#director .scene-pick label").get_by_text("Podium", exact=True).click()
    room.get_by_label("Places revealed").select_option("1")
    shows(room, PREVIEW_LABEL, "Podium: third revealed")
    preview = preview_of(room)
    preview.wait_for_function(
        "() => (document.querySelector('#director .scene[data-scene=\"podium\"]')?.textContent || '').includes('Bees')",
        timeout=WITHIN_MS,
    )
    assert "Aces" not in scene_text(preview, "podium")
    assert "Bees" not in scene_text(overlay, "podium")


def _shot(page, folder, name: str) -> None:
    """A picture of the director's panel; `SAVE_SCREENSHOTS=1` refreshes docs/screenshots/."""
    shot = folder / f"{name}.png"
    page.locator("#director").screenshot(path=str(shot))
    assert shot.stat().st_size > 5000, name
    if os.environ.get("SAVE_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, SHOTS / shot.name)

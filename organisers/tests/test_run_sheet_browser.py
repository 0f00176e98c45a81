"""The run sheet in a real browser (headless Chromium) against a real server: two organisers' control
rooms, a team's market page and the overlay open at once while the host steers the script."""

import os
import shutil
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from accounts.models import User
from market.services import company_create
from organisers.models import Cue, RunSheet
from organisers.runsheet.services import cue_create
from organisers.runsheet.times import event_time_text
from overlay.tests.servers import ROOT, TOKEN

# Committed data, so the server process sees it; once, on SQLite: the pages are the same on both.
pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]

SHOTS = ROOT / "docs" / "screenshots"
ROOM = "/admin/control-room/"
PASSWORD = "lantern-harbour-41"
WITHIN_MS = 3000
DESK = {"width": 1366, "height": 900}


def clock(moment) -> str:
    return timezone.localtime(moment).strftime("%H:%M:%S")


def cue(action: str, minutes: int, **data) -> Cue:
    at = event_time_text(timezone.now() + timedelta(minutes=minutes))[:19]
    return cue_create(by=None, raw={"day": 1, "at": at, "action": action, **data})


@pytest.fixture
def show(db, admin_user, team, open_market):
    """The event: two companies, two organisers and a team who can sign in, and a run sheet."""
    second = User.objects.create_superuser(email="floor@event.test", password=PASSWORD)
    # Passwords the server can check (the suite's fast hasher is not in the server's list).
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        for user in (admin_user, second, team.user):
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
    company_create(by=None, ticker="ACME", name="Acme Robotics", current_price=Decimal("10.00"))
    company_create(by=None, ticker="BOLT", name="Bolt Energy", current_price=Decimal("3.50"))
    return {
        "organisers": (admin_user, second),
        "team": team,
        "price": cue("price", 10, ticker="ACME", price="12.50"),
        "news": cue("news", 12, title="Rates cut", content="By a quarter point."),
        "note": cue("note", 15, text="Thank the sponsors"),
        "later": cue("price", 20, ticker="BOLT", change_pct="10"),
    }


@pytest.fixture
def contexts(browser):
    """Browser profiles (one person's cookies each); no page may raise a script error."""
    opened, errors = [], []

    def new():
        context = browser.new_context(viewport=DESK)
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
    page.wait_for_function("() => document.getElementById('run-sheet').dataset.live === '1'", timeout=5000)
    return page


def row(page, cue: Cue):
    return page.locator(f'#run-sheet tr[data-cue="{cue.pk}"]')


def shows(page, selector: str, wanted: str) -> None:
    """Wait until the element's text contains `wanted`."""
    page.wait_for_function(
        "([selector, wanted]) => (document.querySelector(selector)?.textContent || '').includes(wanted)",
        arg=[selector, wanted],
        timeout=WITHIN_MS,
    )


def status_of(cue: Cue) -> str:
    return f'#run-sheet tr[data-cue="{cue.pk}"] [data-field="status"]'


def test_the_host_steers_the_run_sheet_and_every_screen_follows(contexts, server, show, tmp_path):
    base = f"http://127.0.0.1:{server['port']}"
    host, floor = show["organisers"]
    room = control_room(contexts(), base, host)
    other = control_room(contexts(), base, floor)

    team_page = contexts().new_page()
    team_page.goto(f"{base}/signin/?next=/market/")
    team_page.get_by_label("E-mail").fill(show["team"].user.email)
    team_page.get_by_label("Password").fill(PASSWORD)
    team_page.get_by_role("button", name="Sign in").click()
    team_page.wait_for_url("**/market/")
    team_page.wait_for_function("() => document.body.dataset.online === '1'", timeout=5000)
    overlay = contexts().new_page()
    overlay.goto(f"{base}/overlay/?token={TOKEN}")
    overlay.locator('#ticker .quote[data-ticker="ACME"] .price').first.wait_for()

    # The day's timeline, the first cue next with its countdown.
    assert room.locator("#run-sheet tr[data-cue]").count() == 4
    price = row(room, show["price"])
    assert price.locator('[data-field="status"]').inner_text() == "Next"
    assert price.locator('[data-field="countdown"]').inner_text().startswith("in 9:")
    assert price.locator('[data-field="time"]').inner_text() == clock(show["price"].due_at)
    assert "Day 1. Times are event time (Asia/Jakarta)." in room.locator("#run-sheet").inner_text()

    # Fire now: the price moves on the overlay and the team's page; both control rooms see it fired.
    price.get_by_role("button", name="Fire now").click()
    overlay.wait_for_function(
        "() => document.querySelector('#ticker .quote[data-ticker=\"ACME\"] .price').textContent === '12.50'",
        timeout=WITHIN_MS,
    )
    team_page.wait_for_function(
        "() => document.querySelector('tr[data-quote=\"ACME\"] [data-field=price]').textContent === '12.50'",
        timeout=WITHIN_MS,
    )
    for page in (room, other):
        shows(page, status_of(show["price"]), "Fired")
        shows(page, status_of(show["news"]), "Next")
    shows(room, '[data-role="run-sheet-said"]', "Fired Price “ACME → 12.50”.")
    assert room.url == f"{base}{ROOM}"  # the page stayed put
    assert "ACME 10.00 → 12.50" in row(other, show["price"]).locator('[data-field="details"]').inner_text()
    assert row(other, show["price"]).get_by_role("button", name="Fire now").is_hidden()

    # Skip: shown skipped, with who skipped it, on both.
    row(room, show["news"]).get_by_role("button", name="Skip").click()
    for page in (room, other):
        shows(page, status_of(show["news"]), "Skipped")
    assert "Skipped by organiser@event.test." in row(other, show["news"]).inner_text()

    # Hold, with the keyboard: held on both screens; Resume is where the focus was.
    later = row(other, show["later"]).locator('[data-field="time"]')
    assert later.inner_text() == clock(show["later"].due_at)
    assert row(other, show["later"]).locator('[data-field="what"]').inner_text() == "BOLT +10%"
    room.get_by_role("button", name="Hold").focus()
    room.keyboard.press("Enter")
    for page in (room, other):
        shows(page, '[data-role="sheet-state"]', "Held since ")
        shows(page, status_of(show["note"]), "Next")
        shows(page, f"{status_of(show['note']).replace('status', 'countdown')}", "held")
    assert room.evaluate("document.activeElement.textContent") == "Resume"
    assert other.get_by_role("button", name="Hold").is_hidden()

    # Resume after five minutes held (moved back in the database, not waited for): the cues still
    # to come move five minutes later on screen.
    RunSheet.objects.filter(pk=1).update(held_since=timezone.now() - timedelta(minutes=5))
    room.keyboard.press("Enter")
    shows(room, '[data-role="sheet-state"]', "Running")
    moved = Cue.objects.get(pk=show["later"].pk)
    for page in (room, other):
        shows(page, '[data-role="sheet-state"]', "Running")
        shows(page, f'#run-sheet tr[data-cue="{moved.pk}"] [data-field="time"]', clock(moved.due_at))
        shows(page, f'#run-sheet tr[data-cue="{moved.pk}"] [data-field="details"]', "shifted by 00:05:")
    assert moved.due_at - show["later"].due_at >= timedelta(minutes=5)
    assert later.inner_text() != clock(show["later"].due_at)

    # A note fired: it pops up for the host on every organiser's control room.
    row(other, show["note"]).get_by_role("button", name="Fire now").click()
    for page in (room, other):
        alert = page.get_by_role("alert").locator(".cue-alert")
        alert.wait_for(timeout=WITHIN_MS)
        assert "Thank the sponsors" in alert.inner_text()
    _shot(room, tmp_path, "control-room-run-sheet")
    room.get_by_role("alert").get_by_role("button", name="Dismiss").click()
    assert room.locator(".cue-alert").count() == 0
    assert other.locator(".cue-alert").count() == 1  # each screen dismisses its own


def _shot(page, folder, name: str) -> None:
    """A picture of the run sheet panel; `SAVE_SCREENSHOTS=1` refreshes docs/screenshots/."""
    shot = folder / f"{name}.png"
    page.locator("#run-sheet").screenshot(path=str(shot))
    assert shot.stat().st_size > 5000, name
    if os.environ.get("SAVE_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, SHOTS / shot.name)

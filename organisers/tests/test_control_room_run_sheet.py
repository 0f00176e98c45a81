"""The control room's run sheet panel: the day's cues with their status, fired now, skipped, held,
resumed and the last price cue undone, each a form answered with a message (SPEC §6b)."""

import re
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone

from market.models import AuditEntry, Company, TradingDay
from organisers.models import Cue, RunSheet
from organisers.runsheet.services import cue_create, cue_fire, run_sheet_hold
from organisers.runsheet.times import event_time_text

pytestmark = pytest.mark.django_db

ROOM = "/admin/control-room/"
ACTIONS = ["cues/fire", "cues/skip", "run-sheet/hold", "run-sheet/resume", "run-sheet/undo"]


@pytest.fixture
def organiser(client, admin_user) -> Client:
    client.force_login(admin_user)
    return client


def make_cue(action: str, *, minutes: float = 10, day: int = 1, at: str | None = None, **data) -> Cue:
    at = at or event_time_text(timezone.now() + timedelta(minutes=minutes))[:19]
    return cue_create(by=None, raw={"day": day, "at": at, "action": action, **data})


def said(response) -> list[tuple[str, str]]:
    return [(message.level_tag, message.message) for message in response.context["messages"]]


def post(client: Client, action: str, data: dict | None = None):
    """POST to an action and follow its redirect back to the run sheet."""
    response = client.post(f"{ROOM}{action}", data or {})
    assert response.status_code == 302, response.content
    assert response["Location"] == f"{ROOM}#run-sheet"
    page = client.get(response["Location"])
    assert page.status_code == 200
    return page


def text(html: str) -> str:
    """What the page shows, as words (elements marked hidden left out)."""
    html = re.sub(r"<(span|div)\b[^>]*\shidden(?=[\s>])[^>]*>.*?</\1>", " ", html, flags=re.S)
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))).strip()


def row(page, cue: Cue) -> str:
    """A cue's row on the page, as words."""
    html = page.content.decode()
    match = re.search(rf'<tr data-cue="{cue.pk}"[^>]*>(.*?)</tr>', html, re.S)
    assert match, f"no row for {cue}"
    return text(match.group(1))


def row_tag(page, cue: Cue) -> str:
    return re.search(rf'<tr data-cue="{cue.pk}"[^>]*>', page.content.decode()).group(0)


def clock(moment) -> str:
    return timezone.localtime(moment).strftime("%H:%M:%S")


# Who may use it


def test_a_team_or_a_stranger_is_sent_to_the_admin_sign_in_and_nothing_happens(client, team, company):
    cue = make_cue("price", ticker="ACME", price="12.00")
    for signed_in in (None, team.user):
        if signed_in:
            client.force_login(signed_in)
        for action in ACTIONS:
            response = client.post(f"{ROOM}{action}", {"cue": str(cue.pk)})
            assert response.status_code == 302, action
            assert response["Location"].startswith("/admin/login/"), action
    cue.refresh_from_db()
    assert cue.status == "planned"
    assert RunSheet.load().held_since is None
    assert Company.objects.get(ticker="ACME").current_price == Decimal("10.00")


def test_an_action_without_the_csrf_token_is_refused(admin_user, company):
    cue = make_cue("price", ticker="ACME", price="12.00")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)

    for action in ACTIONS:
        assert strict.post(f"{ROOM}{action}", {"cue": str(cue.pk)}).status_code == 403

    cue.refresh_from_db()
    assert cue.status == "planned"
    assert RunSheet.load().held_since is None


def test_a_get_is_not_an_action(organiser):
    for action in ACTIONS:
        assert organiser.get(f"{ROOM}{action}").status_code == 405


# The timeline


def test_the_page_subscribes_to_the_run_sheet_beside_the_trades(organiser):
    html = organiser.get(ROOM).content.decode()

    assert 'data-topics="trades,cues,scene"' in html
    assert '<section class="module wide" id="run-sheet"' in html
    assert 'href="/api/docs/"' in html
    assert 'href="/admin/organisers/cue/"' in html  # the cue list


def test_without_cues_the_panel_says_so_and_the_sheet_runs(organiser):
    page = organiser.get(ROOM)
    html = page.content.decode()

    assert "No cues for day 1 yet." in text(html)
    assert "Running" in text(html)
    assert re.search(r'data-role="hold"\s*>', html)  # Hold shown
    assert re.search(r'data-role="resume"\s*hidden>', html)  # Resume not


def test_the_timeline_shows_each_cue_with_its_time_summary_and_status(organiser, admin_user, company, make_company):
    make_company("GONE", "1.00")
    opening = make_cue("open", minutes=60)
    later = make_cue("news", minutes=20, title="Rates cut", content="By a quarter point.")
    price = make_cue("price", minutes=5, ticker="ACME", price="1234.50")
    change = make_cue("price", minutes=6, ticker="ACME", change_pct="-3.5")
    note = make_cue("note", minutes=7, text="Thank the sponsors")
    scene = make_cue("scene", minutes=8, scene="leaderboard", options={"top": 5})
    offset = make_cue("note", at="+00:45:00", text="Half time: remind the teams")
    doomed = make_cue("price", minutes=9, ticker="GONE", price="2.00")
    cue_fire(cue=price, by=admin_user)
    cue_fire(cue=scene, by=admin_user)  # takes the leaderboard on the stream
    Company.objects.filter(ticker="GONE").delete()
    cue_fire(cue=doomed, by=admin_user)

    page = organiser.get(ROOM)

    for cue in (opening, later, price, change, note, scene, offset, doomed):
        cue.refresh_from_db()
    assert row(page, change).startswith(f"{clock(change.due_at)} Price ACME -3.5% Next in ")
    assert 'aria-current="step"' in row_tag(page, change) and "next" in row_tag(page, change)
    assert "Fire now" in row(page, change) and "Skip" in row(page, change)
    assert row(page, later).startswith(f"{clock(later.due_at)} News Rates cut Planned")
    assert row(page, note).startswith(f"{clock(note.due_at)} Note Thank the sponsors Planned")
    assert row(page, opening).startswith(f"{clock(opening.due_at)} Open Start bell: day 1 opens Planned")
    expected = clock(opening.due_at + timedelta(minutes=45))
    assert row(page, offset).startswith(
        f"{expected} estimated +00:45:00 after the bell Note Half time: remind the teams Planned"
    )
    assert row(page, price).startswith(
        f"{clock(price.due_at)} Price ACME → 1,234.50 Fired {clock(price.fired_at)} · ACME 10.00 → 1,234.50"
    )
    assert "Fire now" not in row(page, price)  # its buttons hidden: a done cue cannot fire again
    assert re.search(r'data-field="act"\s*hidden', page.content.decode().split(f'data-cue="{price.pk}"')[1])
    assert row(page, scene).startswith(f"{clock(scene.due_at)} Scene leaderboard top 5 Fired {clock(scene.fired_at)}")
    assert row(page, doomed).startswith(f"{clock(doomed.due_at)} Price GONE → 2.00 Failed {clock(doomed.fired_at)}")
    assert "No company has the ticker GONE any more." in row(page, doomed)
    # In time order, the offset where its bell would put it.
    html = page.content.decode()
    order = [html.index(f'data-cue="{cue.pk}"') for cue in (price, change, note, scene, doomed, later, opening, offset)]
    assert order == sorted(order)


def test_the_panel_shows_the_day_and_names_the_other_days_with_cues(organiser):
    make_cue("note", day=1, text="Today")
    make_cue("note", day=3, minutes=60 * 48, text="Later")

    shown = re.sub(r" ([;.])", r"\1", text(organiser.get(ROOM).content.decode()))  # no space before the spans' stops
    assert "Day 1; other days with cues: 3. Times are event time (Asia/Jakarta)." in shown


def test_the_next_cue_counts_down_from_when_the_page_was_drawn(organiser):
    cue = make_cue("note", minutes=4.5, text="Cue the band")

    page = organiser.get(ROOM)

    assert re.search(r"Next in 4:[23]\d", row(page, cue))
    cue.refresh_from_db()
    assert f'data-due="{cue.due_at.isoformat()}"' in page.content.decode()


# Firing now and skipping


def test_fire_now_changes_the_price_at_once_and_says_so(organiser, admin_user, company):
    cue = make_cue("price", ticker="ACME", price="12.00")

    page = post(organiser, "cues/fire", {"cue": str(cue.pk)})

    cue.refresh_from_db()
    assert cue.status == "fired"
    assert Company.objects.get(ticker="ACME").current_price == Decimal("12.00")
    assert said(page) == [("success", "Fired Price “ACME → 12.00”.")]
    assert AuditEntry.objects.get(action="cue_fire").actor == admin_user
    assert f"Fired {clock(cue.fired_at)} · ACME 10.00 → 12.00" in row(page, cue)


def test_a_note_fired_now_says_its_text(organiser):
    cue = make_cue("note", text="Thank the sponsors")

    page = post(organiser, "cues/fire", {"cue": str(cue.pk)})

    assert said(page) == [("success", "Fired Note “Thank the sponsors”.")]


def test_firing_a_cue_already_fired_is_refused_in_a_message(organiser, admin_user, company):
    cue = make_cue("price", ticker="ACME", price="12.00")
    cue_fire(cue=cue, by=admin_user)

    page = post(organiser, "cues/fire", {"cue": str(cue.pk)})

    assert said(page) == [("error", "Nothing fired: This cue is fired: only a planned cue can change.")]
    assert AuditEntry.objects.filter(action="cue_fire").count() == 1


def test_a_cue_that_cannot_apply_is_told_as_failed(organiser, company, make_company):
    make_company("GONE", "1.00")
    cue = make_cue("price", ticker="GONE", price="2.00")
    Company.objects.filter(ticker="GONE").delete()

    page = post(organiser, "cues/fire", {"cue": str(cue.pk)})

    assert said(page) == [("error", "Price “GONE → 2.00” failed: No company has the ticker GONE any more.")]
    cue.refresh_from_db()
    assert cue.status == "failed"


def test_a_cue_deleted_meanwhile_or_not_named_is_refused(organiser):
    cue = make_cue("note", text="Gone soon")
    Cue.objects.filter(pk=cue.pk).delete()

    assert said(post(organiser, "cues/fire", {"cue": str(cue.pk)})) == [
        ("error", "Nothing fired: that cue no longer exists.")
    ]
    assert said(post(organiser, "cues/skip", {"cue": "not-a-cue"})) == [
        ("error", "Nothing skipped: that cue no longer exists.")
    ]


def test_skip_marks_the_cue_skipped_and_it_never_fires(organiser, admin_user, company):
    cue = make_cue("price", ticker="ACME", price="12.00")

    page = post(organiser, "cues/skip", {"cue": str(cue.pk)})

    cue.refresh_from_db()
    assert cue.status == "skipped"
    assert cue.reason == "Skipped by organiser@event.test."
    assert Company.objects.get(ticker="ACME").current_price == Decimal("10.00")
    assert said(page) == [("success", "Skipped Price “ACME → 12.00”: it will not fire.")]
    assert row(page, cue).startswith(f"{clock(cue.due_at)} Price ACME → 12.00 Skipped {clock(cue.fired_at)}")
    assert "Skipped by organiser@event.test." in row(page, cue)

    again = post(organiser, "cues/skip", {"cue": str(cue.pk)})
    assert said(again) == [("error", "Nothing skipped: This cue is skipped: only a planned cue can change.")]


# Hold and resume


def test_hold_pauses_the_sheet_and_the_page_shows_since_when(organiser, admin_user):
    make_cue("note", text="Later")

    page = post(organiser, "run-sheet/hold")

    sheet = RunSheet.load()
    assert sheet.held_since is not None and sheet.held_by == admin_user
    since = clock(sheet.held_since)
    assert said(page) == [
        (
            "success",
            f"The run sheet is held since {since}: no cue fires by itself until you resume (Fire now still works).",
        )
    ]
    html = page.content.decode()
    assert f"Held since {since}" in text(html)
    assert re.search(r'data-role="hold"\s*hidden>', html)
    assert re.search(r'data-role="resume"\s*>', html)
    assert "held: it waits for Resume" in text(html)

    again = post(organiser, "run-sheet/hold")
    assert said(again) == [("info", f"The run sheet was already held, since {since}.")]


def test_resume_moves_the_cues_still_to_come_by_the_time_held(organiser, admin_user):
    cue = make_cue("note", minutes=30, text="Later")
    planned_at = cue.due_at
    run_sheet_hold(by=admin_user)
    RunSheet.objects.filter(pk=1).update(held_since=timezone.now() - timedelta(minutes=5))  # held five minutes

    page = post(organiser, "run-sheet/resume")

    cue.refresh_from_db()
    assert RunSheet.load().held_since is None
    shifted = cue.due_at - planned_at
    assert timedelta(minutes=5) <= shifted < timedelta(minutes=5, seconds=5)
    assert said(page) == [
        ("success", "The run sheet runs again: today's cues still to come are 00:05:00 later (the time held).")
    ]
    assert row(page, cue).startswith(f"{clock(cue.due_at)} Note Later Next in ")
    assert "shifted by 00:05:00" in row(page, cue)
    assert "Running" in text(page.content.decode()) and "Held 00:05:00 in all so far." in text(page.content.decode())

    again = post(organiser, "run-sheet/resume")
    assert said(again) == [("info", "The run sheet was not held: it runs as it was.")]


# Undo


def test_undo_puts_back_the_price_the_last_price_cue_changed(organiser, admin_user, company):
    first = make_cue("price", minutes=5, ticker="ACME", price="12.00")
    second = make_cue("price", minutes=6, ticker="ACME", change_pct="50")
    cue_fire(cue=first, by=admin_user)
    cue_fire(cue=second, by=admin_user)
    assert Company.objects.get(ticker="ACME").current_price == Decimal("18.00")

    page = post(organiser, "run-sheet/undo")

    second.refresh_from_db()
    assert Company.objects.get(ticker="ACME").current_price == Decimal("12.00")
    assert said(page) == [
        (
            "success",
            f"Undone: ACME is back to 12.00 (the price cue fired at {clock(second.fired_at)} had made it 18.00).",
        )
    ]
    assert row(page, second).startswith(f"{clock(second.due_at)} Price ACME +50% Fired")
    assert f"undone at {clock(second.undone_at)}" in row(page, second)
    assert "undone" in row_tag(page, second)
    assert AuditEntry.objects.get(action="cue_undo").actor == admin_user


def test_undo_with_nothing_to_undo_is_refused_in_a_message(organiser, company):
    page = post(organiser, "run-sheet/undo")

    assert said(page) == [("error", "Nothing undone: No fired price cue is left to undo.")]
    assert Company.objects.get(ticker="ACME").current_price == Decimal("10.00")


# The page's script: it stays put and reads the message alone


def test_the_pages_script_gets_the_message_alone(organiser, company):
    cue = make_cue("price", ticker="ACME", price="12.00")
    json = {"HTTP_ACCEPT": "application/json"}

    fired = organiser.post(f"{ROOM}cues/fire", {"cue": str(cue.pk)}, **json)
    again = organiser.post(f"{ROOM}cues/fire", {"cue": str(cue.pk)}, **json)

    assert fired.status_code == 200
    assert fired.json() == {"level": "success", "message": "Fired Price “ACME → 12.00”."}
    assert again.status_code == 409
    assert again.json() == {
        "level": "error",
        "message": "Nothing fired: This cue is fired: only a planned cue can change.",
    }
    assert not list(organiser.get(ROOM).context["messages"])  # not kept for the next page too


# The news form's "publish later"


def test_news_for_later_becomes_a_news_cue_of_the_open_day(organiser, open_market):
    later = timezone.localtime() + timedelta(hours=1)

    response = organiser.post(
        f"{ROOM}news", {"title": "Results", "content": "Soon.", "publish_at": later.strftime("%Y-%m-%dT%H:%M")}
    )
    page = organiser.get(response["Location"])

    cue = Cue.objects.get()
    assert (cue.day, cue.action, cue.data) == (1, "news", {"title": "Results", "content": "Soon."})
    assert cue.due_at == later.replace(second=0, microsecond=0)
    assert row(page, cue).startswith(f"{clock(cue.due_at)} News Results Next in ")


def test_news_for_later_goes_to_the_next_day_to_open(organiser, open_market):
    from market.services import market_close

    market_close(by=None)
    TradingDay.objects.create(number=2)
    later = timezone.localtime() + timedelta(hours=1)

    organiser.post(f"{ROOM}news", {"title": "Tomorrow", "content": "x", "publish_at": later.strftime("%Y-%m-%dT%H:%M")})

    assert Cue.objects.get().day == 2


# Live: every organiser's control room hears the change


@pytest.mark.django_db(transaction=True)
def test_an_organisers_socket_hears_the_run_sheet_and_the_note_fired(admin_user, team):
    from channels.db import database_sync_to_async

    from overlay.tests.conftest import run, session_headers, socket

    note = make_cue("note", text="Thank the sponsors")
    organiser = Client()
    organiser.force_login(admin_user)
    headers = session_headers(admin_user)

    async def scenario():
        ws = socket("/api/ws?topics=trades,cues", headers)
        assert (await ws.connect())[0]
        snapshot = await ws.receive_json_from(timeout=3)
        await database_sync_to_async(organiser.post)(f"{ROOM}cues/fire", {"cue": str(note.pk)})
        event = await ws.receive_json_from(timeout=3)
        await ws.disconnect()
        return snapshot, event

    snapshot, event = run(scenario)
    assert [cue["status"] for cue in snapshot["data"]["run_sheet"]["cues"]] == ["planned"]
    assert event["type"] == "run_sheet"
    assert [cue["status"] for cue in event["data"]["cues"]] == ["fired"]
    assert event["data"]["fired"]["data"] == {"text": "Thank the sponsors"}


def test_undo_names_what_it_puts_back_and_a_second_press_on_a_stale_page_undoes_nothing(organiser, admin_user, company):
    first = make_cue("price", minutes=5, ticker="ACME", price="12.00")
    second = make_cue("price", minutes=6, ticker="ACME", price="15.00")
    cue_fire(cue=first, by=admin_user)
    cue_fire(cue=second, by=admin_user)
    page = organiser.get("/admin/control-room/").content.decode()
    assert "Undo last price cue : ACME back to 12.00 (fired" in text(page)
    assert f'name="cue" value="{second.pk}"' in page

    post(organiser, "run-sheet/undo", {"cue": str(second.pk)})
    stale = post(organiser, "run-sheet/undo", {"cue": str(second.pk)})  # another organiser's older page

    assert said(stale)[0][0] == "error" and "nothing was undone" in said(stale)[0][1]
    assert Company.objects.get(ticker="ACME").current_price == Decimal("12.00")

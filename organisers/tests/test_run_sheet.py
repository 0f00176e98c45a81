"""The run sheet (SPEC §6b): cues read and checked, written through the API, fired, skipped, held,
resumed and undone; what each firing leaves behind; the organisers' live timeline."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from market.models import AuditEntry, TradingDay
from market.services import market_close, market_open
from newsroom.models import News
from organisers.models import Cue, RunSheet
from organisers.runsheet import live, services
from organisers.runsheet.rules import place, propose
from organisers.runsheet.times import CLOCK, DATETIME, OFFSET, BadTime, event_time_text, parse_at
from organisers.scheduler import run_due
from organisers.tests.cues import due_cue

pytestmark = pytest.mark.django_db


def later(**delta) -> str:
    """An event-time date-time still to come, as an organiser writes it."""
    return event_time_text(timezone.now() + timedelta(**delta))


# The three forms of `at` -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written, form, text",
    [
        ("2026-12-08 09:20", DATETIME, "2026-12-08 09:20"),
        ("2026-12-08T09:20:05", DATETIME, "2026-12-08 09:20:05"),
        (" 2026-12-08 9:05 ", DATETIME, "2026-12-08 09:05"),
        ("09:20", CLOCK, "09:20"),
        ("9:20:30", CLOCK, "09:20:30"),
        ("+00:45:00", OFFSET, "+00:45:00"),
        ("+0:45", OFFSET, "+00:45:00"),
        ("+26:00:00", OFFSET, "+26:00:00"),
    ],
)
def test_each_form_of_a_time_is_read_and_kept_as_written(written, form, text):
    at = parse_at(written)
    assert (at.form, at.text) == (form, text)


def test_spreadsheet_cells_are_read_as_the_forms_they_hold():
    assert parse_at(datetime(2026, 12, 8, 9, 20)).text == "2026-12-08 09:20"
    assert parse_at(time(9, 20)).form == CLOCK


@pytest.mark.parametrize(
    "written, words",
    [
        ("25:00", "not a time of day"),
        ("2026-02-30 09:00", "not a real date"),
        ("+00:61:00", "up to 59"),
        ("+200:00:00", "at most a week"),
        ("tomorrow", "not a time"),
        ("", "not a time"),
        (None, "Write a date-time"),
    ],
)
def test_a_time_in_no_known_form_says_what_is_expected(written, words):
    with pytest.raises(BadTime, match=words):
        parse_at(written)


def test_a_date_time_is_in_event_time():
    assert parse_at("2026-12-08 09:20").moment == datetime(2026, 12, 8, 2, 20, tzinfo=UTC)  # Jakarta, UTC+7


def test_a_clock_time_is_on_its_days_open_date_or_today_and_an_offset_waits_for_the_bell():
    now = timezone.now()
    opens = datetime(2026, 12, 9, 1, 0, tzinfo=UTC)  # 08:00 in Jakarta
    assert parse_at("09:20").resolve(day_opens_at=opens, bell_at=None, now=now) == datetime(
        2026, 12, 9, 2, 20, tzinfo=UTC
    )
    today = parse_at("09:20").resolve(day_opens_at=None, bell_at=None, now=now)
    assert timezone.localtime(today).date() == timezone.localtime(now).date()
    assert parse_at("+00:45:00").resolve(day_opens_at=opens, bell_at=None, now=now) is None
    assert parse_at("+00:45:00").resolve(day_opens_at=opens, bell_at=opens, now=now) == opens + timedelta(minutes=45)


# Each action's fields ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, data",
    [
        ({"action": "open"}, {}),
        ({"action": "close"}, {}),
        (
            {"action": "news", "title": " Rates cut ", "content": "By half a point."},
            {"title": "Rates cut", "content": "By half a point."},
        ),
        ({"action": "price", "ticker": "acme", "price": "12.5"}, {"ticker": "ACME", "price": "12.50"}),
        ({"action": "price", "ticker": "ACME", "change_pct": "-7.5%"}, {"ticker": "ACME", "change_pct": "-7.5"}),
        ({"action": "price", "ticker": "ACME", "change_pct": "10.00"}, {"ticker": "ACME", "change_pct": "10"}),
        (
            {"action": "scene", "scene": "Podium", "options": '{"revealed": 1}'},
            {"scene": "podium", "options": {"revealed": 1}},
        ),
        ({"action": "note", "text": "Thank the sponsors"}, {"text": "Thank the sponsors"}),
    ],
)
def test_every_action_is_read_with_its_own_fields(company, raw, data):
    proposed = propose({"day": 1, "at": "+00:10:00" if raw["action"] != "open" else "09:00", **raw}, {"ACME": company})
    assert proposed.errors == {}
    assert proposed.data == data


@pytest.mark.parametrize(
    "raw, field, words",
    [
        ({"action": "news", "title": "Only a title"}, "content", "needs its content"),
        ({"action": "note"}, "text", "needs its text"),
        ({"action": "price", "ticker": "NOPE", "price": "5"}, "ticker", "No company has the ticker 'NOPE'"),
        ({"action": "price", "ticker": "ACME"}, "price", "either a price or a change"),
        ({"action": "price", "ticker": "ACME", "price": "5", "change_pct": "3"}, "price", "not both"),
        ({"action": "price", "ticker": "ACME", "price": "0"}, "price", "above 0"),
        ({"action": "price", "ticker": "ACME", "price": "1000000000000"}, "price", "at most"),
        ({"action": "price", "ticker": "ACME", "price": "1.234"}, "price", "in cents"),
        ({"action": "price", "ticker": "ACME", "change_pct": "-100"}, "change_pct", "from -99.99"),
        ({"action": "price", "ticker": "ACME", "change_pct": "0"}, "change_pct", "not 0"),
        ({"action": "scene", "scene": "fireworks"}, "scene", "one of market, leaderboard"),
        ({"action": "scene", "scene": "news", "options": "[1, 2]"}, "options", "JSON object"),
        ({"action": "note", "text": "x", "ticker": "ACME"}, "ticker", "A note cue takes text; not ticker"),
        ({"action": "shout"}, "action", "Unknown action 'shout'"),
        ({"action": "open", "at": "+00:10:00"}, "at", "the start bell itself"),
        ({"action": "note", "text": "x", "day": 0}, "day", "from 1 to 366"),
        ({"action": "note", "text": "x", "day": "two"}, "day", "the day's number"),
    ],
)
def test_a_cue_missing_or_breaking_a_field_says_which_and_why(company, raw, field, words):
    proposed = propose({"day": 1, "at": "+00:10:00", **raw}, {"ACME": company})
    assert words in " ".join(proposed.errors[field])


def test_the_timeline_refuses_the_past_a_closed_day_and_a_close_before_its_open():
    now = timezone.now()
    TradingDay.objects.create(number=1, opened_at=now - timedelta(hours=3), closed_at=now - timedelta(hours=2))
    cues = [
        propose({"day": 2, "at": event_time_text(now - timedelta(minutes=1)), "action": "note", "text": "x"}, {}),
        propose({"day": 1, "at": later(hours=1), "action": "note", "text": "x"}, {}),
        propose({"day": 3, "at": later(hours=5), "action": "open"}, {}),
        propose({"day": 3, "at": later(hours=4), "action": "close"}, {}),
        propose({"day": 4, "at": later(hours=30), "action": "open"}, {}),
        propose({"day": 4, "at": "+06:00:00", "action": "close"}, {}),
    ]

    place(cues, keep=[])

    assert "has already passed" in cues[0].errors["at"][0]
    assert cues[1].errors["day"] == ["Day 1 has already closed."]
    assert cues[2].errors == {}
    assert "Day 3 would close" in cues[3].errors["at"][0] and "before it opens" in cues[3].errors["at"][0]
    assert cues[4].errors == {} and cues[5].errors == {}  # an offset close comes after its bell


def test_a_day_skipped_or_already_open_refuses_what_it_can_no_longer_do():
    now = timezone.now()
    TradingDay.objects.create(number=2, opened_at=now - timedelta(hours=1))
    cues = [
        propose({"day": 1, "at": later(hours=1), "action": "note", "text": "x"}, {}),
        propose({"day": 2, "at": later(hours=1), "action": "open"}, {}),
    ]
    place(cues, keep=[])
    assert cues[0].errors["day"] == ["Day 1 was skipped: day 2 has opened."]
    assert cues[1].errors["day"] == ["Day 2 has already opened."]


# The API -----------------------------------------------------------------------------------------


def test_an_organiser_writes_a_cue_and_reads_it_back(admin_api, company):
    body = {"day": 1, "at": "+00:30:00", "action": "price", "data": {"ticker": "ACME", "change_pct": 5}}

    response = admin_api.post("/api/admin/cues", body, format="json")

    assert response.status_code == 201, response.content
    cue = response.json()
    assert {key: cue[key] for key in ("day", "at", "due_at", "action", "data", "status", "fired_at", "reason")} == {
        "day": 1,
        "at": "+00:30:00",
        "due_at": None,  # until day 1's start bell rings
        "action": "price",
        "data": {"ticker": "ACME", "change_pct": "5"},
        "status": "planned",
        "fired_at": None,
        "reason": "",
    }
    assert admin_api.get(f"/api/admin/cues/{cue['id']}").json() == cue
    assert AuditEntry.objects.get(action="cue_create").target == f"cue:{cue['id']}"


def test_the_list_is_by_day_then_time_and_filters(admin_api):
    for day, at in ((2, later(days=2)), (1, later(hours=3)), (1, later(hours=1))):
        admin_api.post("/api/admin/cues", {"day": day, "at": at, "action": "note", "data": {"text": at}}, format="json")

    listed = admin_api.get("/api/admin/cues").json()["results"]
    day_one = admin_api.get("/api/admin/cues?day=1").json()["results"]

    assert [(cue["day"], cue["data"]["text"]) for cue in listed] == sorted(
        (cue["day"], cue["data"]["text"]) for cue in listed
    )
    assert [cue["day"] for cue in day_one] == [1, 1]
    assert admin_api.get("/api/admin/cues?status=bogus").json()["code"] == "validation_error"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"day": 1, "at": "soon", "action": "note", "data": {"text": "x"}}, "at"),
        ({"day": 1, "at": "+00:10:00", "action": "note", "data": {"text": "x", "colour": "red"}}, "data"),
        ({"day": 1, "at": "+00:10:00", "action": "note", "data": {}}, "text"),
        ({"day": "1", "at": "+00:10:00", "action": "note", "data": {"text": "x"}}, "day"),
        ({"day": 1, "at": "+00:10:00", "action": "note", "data": {"text": "x"}, "status": "fired"}, "status"),
        ({"day": 1, "at": "+00:10:00", "action": "news", "data": {"title": "x"}}, "content"),
    ],
)
def test_bad_input_is_a_validation_error_naming_the_field_and_writes_nothing(admin_api, body, field):
    response = admin_api.post("/api/admin/cues", body, format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert (response.json()["code"], field in response.json()["errors"]) == ("validation_error", True)
    assert not Cue.objects.exists()


def test_a_cue_changes_until_it_fires_then_never(admin_api, company):
    cue = admin_api.post(
        "/api/admin/cues",
        {"day": 1, "at": later(hours=1), "action": "note", "data": {"text": "Mic check"}},
        format="json",
    ).json()

    changed = admin_api.patch(f"/api/admin/cues/{cue['id']}", {"data": {"text": "Sound check"}}, format="json")
    assert changed.status_code == 200 and changed.json()["data"] == {"text": "Sound check"}
    moved = admin_api.patch(
        f"/api/admin/cues/{cue['id']}", {"action": "price", "data": {"ticker": "ACME", "price": "11"}}, format="json"
    )
    assert moved.json()["data"] == {"ticker": "ACME", "price": "11.00"}  # a new action: its own fields only

    assert admin_api.post(f"/api/admin/cues/{cue['id']}/fire").json()["status"] == "fired"

    for response in (
        admin_api.patch(f"/api/admin/cues/{cue['id']}", {"at": later(hours=2)}, format="json"),
        admin_api.delete(f"/api/admin/cues/{cue['id']}"),
        admin_api.post(f"/api/admin/cues/{cue['id']}/fire"),
        admin_api.post(f"/api/admin/cues/{cue['id']}/skip"),
    ):
        assert (response.status_code, response.json()["code"]) == (409, "cue_fired")
    company.refresh_from_db()
    assert company.current_price == Decimal("11.00")  # fired once


def test_a_planned_cue_is_deleted(admin_api):
    cue = admin_api.post(
        "/api/admin/cues", {"day": 1, "at": later(hours=1), "action": "note", "data": {"text": "x"}}, format="json"
    ).json()
    assert admin_api.delete(f"/api/admin/cues/{cue['id']}").status_code == 204
    assert not Cue.objects.exists()
    assert AuditEntry.objects.filter(action="cue_delete").count() == 1


def test_teams_and_strangers_are_refused(team_api, api):
    for client, status in ((team_api, 403), (api, 401)):
        assert client.get("/api/admin/cues").status_code == status
        assert client.post("/api/admin/run-sheet/hold").status_code == status
    assert not RunSheet.objects.filter(held_since__isnull=False).exists()


# Firing ------------------------------------------------------------------------------------------


def test_a_fired_price_cue_goes_through_the_price_change(admin_api, admin_user, company, team, open_market):
    from market.services import trade_execute

    trade_execute(participant=team, company=company, side="buy", quantity=10)
    cue = services.cue_create(
        by=admin_user, raw={"day": 1, "at": later(hours=1), "action": "price", "ticker": "ACME", "change_pct": "-20"}
    )

    fired = admin_api.post(f"/api/admin/cues/{cue.pk}/fire").json()

    assert (fired["status"], fired["result"]) == ("fired", {"ticker": "ACME", "old_price": "10.00", "price": "8.00"})
    assert fired["late_by"] == ""  # by hand: on time by definition
    team.refresh_from_db()
    assert team.portfolio_value == Decimal("99980.00")  # 10 shares revalued
    assert company.history.order_by("-at").first().price == Decimal("8.00")
    assert AuditEntry.objects.filter(action="price_set", actor=admin_user).exists()
    assert AuditEntry.objects.get(action="cue_fire").data["by_hand"] is True


def test_a_news_cue_publishes_its_item_live(admin_user, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr("overlay.events.send_now", lambda event, **kwargs: sent.append((event, kwargs)))
    cue = services.cue_create(
        by=admin_user,
        raw={"day": 1, "at": later(hours=1), "action": "news", "title": "Rates cut", "content": "Half a point."},
    )
    assert not News.objects.exists()  # nothing to read before its time

    with django_capture_on_commit_callbacks(execute=True):
        services.cue_fire(cue=cue, by=admin_user)

    news = News.objects.get()
    assert (news.title, news.status, news.announced_at is not None) == ("Rates cut", "published", True)
    assert [event["data"]["title"] for event, _ in sent if event["type"] == "news"] == ["Rates cut"]
    assert Cue.objects.get().news == news


def test_a_news_item_scheduled_in_the_api_is_a_cue_until_its_time(
    admin_api, team_api, django_capture_on_commit_callbacks
):
    at = timezone.now() + timedelta(hours=1)
    created = admin_api.post(
        "/api/admin/news", {"title": "Merger", "content": "x", "published_at": at.isoformat()}, format="json"
    ).json()

    shown = timezone.localtime(at.replace(microsecond=0)).isoformat()  # to the second, as a run sheet is
    assert (created["status"], created["published_at"]) == ("scheduled", shown)
    assert team_api.get("/api/news").json()["results"] == []
    cue = Cue.objects.get()
    assert (cue.action, cue.news_id, cue.due_at) == ("news", created["id"] and cue.news_id, at.replace(microsecond=0))

    with django_capture_on_commit_callbacks(execute=True):  # the feed's cached reads renewed on commit
        run_due(at + timedelta(seconds=1))

    assert [item["title"] for item in team_api.get("/api/news").json()["results"]] == ["Merger"]
    assert admin_api.delete(f"/api/admin/news/{created['id']}").status_code == 204


def test_deleting_scheduled_news_deletes_its_cue(admin_api):
    at = (timezone.now() + timedelta(hours=1)).isoformat()
    created = admin_api.post(
        "/api/admin/news", {"title": "Merger", "content": "x", "published_at": at}, format="json"
    ).json()
    assert admin_api.delete(f"/api/admin/news/{created['id']}").status_code == 204
    assert not Cue.objects.exists()
    assert run_due(timezone.now() + timedelta(hours=2)) == []


def test_a_note_pops_up_on_organisers_screens_only(admin_user, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr("overlay.events.send_now", lambda event, **kwargs: sent.append((event, kwargs)))
    cue = due_cue("note", timezone.now() - timedelta(seconds=1), text="Thank the sponsors")

    with django_capture_on_commit_callbacks(execute=True):
        run_due()

    event, options = next((event, options) for event, options in sent if event["type"] == "run_sheet")
    assert options["audience"] == "organisers"
    assert event["data"]["fired"]["id"] == str(cue.pk)
    assert event["data"]["fired"]["data"] == {"text": "Thank the sponsors"}
    assert [row["status"] for row in event["data"]["cues"]] == ["fired"]


def test_a_scene_cue_takes_its_scene_on_time(django_capture_on_commit_callbacks, monkeypatch, make_team):
    sent = []
    monkeypatch.setattr("overlay.events.send_now", lambda event, **kwargs: sent.append(event))
    for name in ("Bulls", "Bears", "Owls"):
        make_team(name)
    cue = due_cue("scene", timezone.now() - timedelta(seconds=1), scene="podium", options={"revealed": 1})

    with django_capture_on_commit_callbacks(execute=True):
        run_due()

    cue.refresh_from_db()
    assert (cue.status, cue.result) == ("fired", {"scene": "podium", "options": {"revealed": 1}})
    scene = next(event["data"] for event in sent if event["type"] == "scene")
    assert (scene["scene"], scene["data"]["revealed"], len(scene["data"]["places"])) == ("podium", 1, 1)


def test_a_scene_cue_the_director_refuses_fails_with_why():
    cue = due_cue("scene", timezone.now() - timedelta(seconds=1), scene="news", options={})  # no news published
    run_due()
    cue.refresh_from_db()
    assert cue.status == "failed" and "No news is published yet" in cue.reason


def test_skipping_says_who_and_why(admin_api, admin_user):
    cue = services.cue_create(by=admin_user, raw={"day": 1, "at": later(hours=1), "action": "note", "text": "x"})
    skipped = admin_api.post(f"/api/admin/cues/{cue.pk}/skip", {"reason": "Running late"}, format="json").json()
    assert (skipped["status"], skipped["reason"]) == ("skipped", "Running late")
    other = services.cue_create(by=admin_user, raw={"day": 1, "at": later(hours=1), "action": "note", "text": "y"})
    assert admin_api.post(f"/api/admin/cues/{other.pk}/skip").json()["reason"] == f"Skipped by {admin_user.email}."
    assert run_due(timezone.now() + timedelta(hours=2)) == []


# Hold and resume ---------------------------------------------------------------------------------


def test_holding_pauses_the_sheet_and_resuming_shifts_what_is_still_to_come(admin_api, admin_user):
    now = timezone.now()
    services.cue_create(
        by=admin_user, raw={"day": 1, "at": event_time_text(now + timedelta(minutes=5)), "action": "open"}
    )
    services.cue_create(
        by=admin_user, raw={"day": 1, "at": event_time_text(now + timedelta(hours=2)), "action": "close"}
    )
    note = services.cue_create(by=admin_user, raw={"day": 1, "at": "+00:30:00", "action": "note", "text": "Halfway"})
    late = due_cue("note", now - timedelta(minutes=20), text="Already late when the hold began")
    before = {cue.pk: cue.due_at for cue in Cue.objects.all()}

    held = admin_api.post("/api/admin/run-sheet/hold").json()
    assert held["held"] is True and held["shifted_by"] == 0
    assert run_due(now + timedelta(minutes=10)) == []  # the open's time came: held, it waits
    RunSheet.objects.filter(pk=1).update(held_since=timezone.now() - timedelta(minutes=10))  # ten minutes on hold

    resumed = admin_api.post("/api/admin/run-sheet/resume").json()

    assert resumed["held"] is False and resumed["held_since"] is None
    assert resumed["shifted_by"] == pytest.approx(600, abs=2)
    after = {cue.pk: cue for cue in Cue.objects.all()}
    opening, closing = (next(cue for cue in after.values() if cue.action == action) for action in ("open", "close"))
    for cue in (opening, closing):
        assert cue.due_at - before[cue.pk] == pytest.approx(timedelta(minutes=10), abs=timedelta(seconds=2))
        assert cue.shifted_by == cue.due_at - before[cue.pk]
    assert after[note.pk].due_at is None  # it follows its bell, whenever that rings
    assert after[late.pk].due_at == before[late.pk]  # late before the hold: fires at once
    day = TradingDay.objects.get(number=1)
    assert (day.scheduled_open_at, day.scheduled_close_at) == (opening.due_at, closing.due_at)
    assert admin_api.get("/api/admin/cues?status=planned").json()["results"][0]["shifted_by"] in ("", "00:00:00")
    assert AuditEntry.objects.get(action="run_sheet_resume").data["shifted"] == 2


def test_hold_and_resume_twice_change_nothing_more(admin_api):
    first = admin_api.post("/api/admin/run-sheet/hold").json()
    assert admin_api.post("/api/admin/run-sheet/hold").json() == first
    admin_api.post("/api/admin/run-sheet/resume")
    again = admin_api.post("/api/admin/run-sheet/resume").json()
    assert again["held"] is False
    assert AuditEntry.objects.filter(action__in=["run_sheet_hold", "run_sheet_resume"]).count() == 2
    assert admin_api.get("/api/admin/run-sheet").json() == again


def test_fire_now_works_while_held(admin_api, admin_user):
    services.run_sheet_hold(by=admin_user)
    cue = services.cue_create(by=admin_user, raw={"day": 1, "at": later(hours=1), "action": "note", "text": "Go"})
    assert admin_api.post(f"/api/admin/cues/{cue.pk}/fire").json()["status"] == "fired"


def test_an_offset_resolved_before_the_hold_is_shifted_with_the_rest(admin_user, company):
    market_open(by=None)
    cue = services.cue_create(by=admin_user, raw={"day": 1, "at": "+01:00:00", "action": "note", "text": "x"})
    services.cues_place_offsets()
    cue.refresh_from_db()
    planned_for = cue.due_at
    services.run_sheet_hold(by=admin_user)
    RunSheet.objects.filter(pk=1).update(held_since=timezone.now() - timedelta(minutes=5))
    services.run_sheet_resume(by=admin_user)
    cue.refresh_from_db()
    assert cue.due_at - planned_for == pytest.approx(timedelta(minutes=5), abs=timedelta(seconds=2))


# Undo --------------------------------------------------------------------------------------------


def test_undo_puts_back_the_last_fired_price_then_the_one_before(admin_api, admin_user, company):
    for price in ("12.00", "15.00"):
        cue = services.cue_create(
            by=admin_user, raw={"day": 1, "at": later(hours=1), "action": "price", "ticker": "ACME", "price": price}
        )
        services.cue_fire(cue=cue, by=admin_user)

    first = admin_api.post("/api/admin/run-sheet/undo")
    company.refresh_from_db()
    assert first.status_code == 200 and first.json()["undone_at"] is not None
    assert company.current_price == Decimal("12.00")
    admin_api.post("/api/admin/run-sheet/undo")
    company.refresh_from_db()
    assert company.current_price == Decimal("10.00")
    entries = AuditEntry.objects.filter(action="cue_undo").order_by("at")
    assert [(entry.data["was"], entry.data["price"]) for entry in entries] == [("15.00", "12.00"), ("12.00", "10.00")]

    nothing = admin_api.post("/api/admin/run-sheet/undo")
    assert (nothing.status_code, nothing.json()["code"]) == (409, "nothing_to_undo")


# The organisers' live timeline -------------------------------------------------------------------


def test_the_timeline_shows_the_open_day_or_the_next_with_cues(admin_user):
    services.cue_create(by=admin_user, raw={"day": 2, "at": later(days=1), "action": "note", "text": "Day two"})
    assert live.timeline()["day"] == 2
    market_open(by=None, day_number=None)
    assert live.timeline()["day"] == 1
    market_close(by=None)
    assert live.timeline()["day"] == 2


def test_only_organisers_may_subscribe_to_the_run_sheet(admin_user, team):
    from overlay.viewers import ADMIN, OVERLAY_VIEWER, PARTICIPANT, TopicsRefused, Viewer, topics_from_query

    organiser = Viewer(ADMIN, admin_user)
    assert "cues" in topics_from_query("topics=cues,trades", organiser)
    assert "cues" not in topics_from_query("", organiser)  # asked for by name only
    for viewer in (OVERLAY_VIEWER, Viewer(PARTICIPANT, team.user)):
        with pytest.raises(TopicsRefused, match="sign in as an organiser"):
            topics_from_query("topics=cues", viewer)
    assert organiser.may_see("organisers") and not OVERLAY_VIEWER.may_see("organisers")


def test_an_organisers_snapshot_carries_the_timeline(admin_user):
    from overlay import domain
    from overlay.viewers import ADMIN, Viewer

    services.cue_create(by=admin_user, raw={"day": 1, "at": later(hours=1), "action": "note", "text": "x"})
    snapshot = domain.snapshot(Viewer(ADMIN, admin_user), frozenset({"cues"}))
    assert [cue["data"]["text"] for cue in snapshot["run_sheet"]["cues"]] == ["x"]
    assert snapshot["run_sheet"]["run_sheet"] == {"held": False, "held_since": None, "shifted_by": 0}


def test_two_organisers_pressing_undo_at_once_undo_one_cue(admin_api, admin_user, company):
    cues = []
    for price in ("12.00", "15.00"):
        cue = services.cue_create(
            by=admin_user, raw={"day": 1, "at": later(hours=1), "action": "price", "ticker": "ACME", "price": price}
        )
        cues.append(services.cue_fire(cue=cue, by=admin_user))
    seen = str(cues[1].pk)  # both screens showed "Undo: ACME back to 12.00"

    first = admin_api.post("/api/admin/run-sheet/undo", {"cue": seen}, format="json")
    second = admin_api.post("/api/admin/run-sheet/undo", {"cue": seen}, format="json")

    assert first.status_code == 200
    assert (second.status_code, second.json()["code"]) == (409, "nothing_to_undo")
    assert "nothing was undone" in second.json()["detail"]
    company.refresh_from_db()
    assert company.current_price == Decimal("12.00")
    assert live.timeline()["undoable"]["id"] == str(cues[0].pk)  # what the screens now offer


# What a review found, each kept fixed ----------------------------------------------------------


def test_a_close_with_no_time_after_its_bell_is_refused(admin_api):
    body = {"day": 1, "at": "+00:00:00", "action": "close"}
    response = admin_api.post("/api/admin/cues", body, format="json")
    assert response.status_code == 400 and "at least a second" in response.json()["errors"]["at"][0]


def test_a_bell_rung_early_by_hand_never_breaks_the_days_times(admin_user, company):
    services.cue_create(by=admin_user, raw={"day": 1, "at": later(hours=1), "action": "open"})
    services.cue_create(by=admin_user, raw={"day": 1, "at": "+00:00:01", "action": "close"})
    market_open(by=None)  # an hour early: the close is now before the open the script planned

    run_due(timezone.now() + timedelta(seconds=2))  # no IntegrityError: the cues go on

    day = TradingDay.objects.get(number=1)
    assert day.closed_at is not None
    assert Cue.objects.get(action="close").status == "fired"


def test_an_open_moved_after_its_close_is_refused(admin_api, admin_user):
    opening = services.cue_create(by=admin_user, raw={"day": 1, "at": later(hours=1), "action": "open"})
    services.cue_create(by=admin_user, raw={"day": 1, "at": later(hours=2), "action": "close"})

    response = admin_api.patch(f"/api/admin/cues/{opening.pk}", {"at": later(hours=3)}, format="json")

    assert response.status_code == 400 and "would close" in response.json()["errors"]["at"][0]


def test_a_cue_moved_by_a_hold_keeps_its_shift_when_edited_and_loses_it_when_retimed(admin_api, admin_user):
    cue = services.cue_create(by=admin_user, raw={"day": 1, "at": later(minutes=5), "action": "note", "text": "x"})
    services.run_sheet_hold(by=admin_user)
    RunSheet.objects.filter(pk=1).update(held_since=timezone.now() - timedelta(minutes=30))
    services.run_sheet_resume(by=admin_user)
    cue.refresh_from_db()
    shifted = cue.due_at

    edited = admin_api.patch(f"/api/admin/cues/{cue.pk}", {"data": {"text": "typo fixed"}}, format="json")
    assert edited.status_code == 200, edited.content  # its written time passed, its shifted one not
    cue.refresh_from_db()
    assert (cue.due_at, cue.shifted_by > timedelta(minutes=29)) == (shifted, True)

    at = later(hours=2)
    admin_api.patch(f"/api/admin/cues/{cue.pk}", {"at": at}, format="json")
    cue.refresh_from_db()
    assert (event_time_text(cue.due_at), cue.shifted_by) == (at, timedelta(0))  # as typed


def test_resume_moves_the_day_that_was_held_even_between_days(admin_user):
    market_open(by=None)
    market_close(by=None)
    opening = services.cue_create(by=admin_user, raw={"day": 2, "at": later(minutes=30), "action": "open"})
    planned = opening.due_at
    services.run_sheet_hold(by=admin_user)  # before day 2's bell: day 2 is the day being run
    RunSheet.objects.filter(pk=1).update(held_since=timezone.now() - timedelta(minutes=10))

    services.run_sheet_resume(by=admin_user)

    opening.refresh_from_db()
    assert opening.due_at - planned == pytest.approx(timedelta(minutes=10), abs=timedelta(seconds=2))
    assert TradingDay.objects.get(number=2).scheduled_open_at == opening.due_at


def test_a_cue_that_breaks_unexpectedly_fails_alone(monkeypatch, company):
    def broken(cue, *, by, now):
        raise RuntimeError("disk full")

    monkeypatch.setitem(services.ACTIONS, "note", broken)
    note = due_cue("note", timezone.now() - timedelta(seconds=2), text="x")
    price = due_cue("price", timezone.now() - timedelta(seconds=1), ticker="ACME", price="12.00")

    run_due()

    note.refresh_from_db()
    price.refresh_from_db()
    assert note.status == "failed" and "RuntimeError" in note.reason
    assert price.status == "fired"


def test_a_news_cue_edited_publishes_its_item_with_the_new_words(admin_api, django_capture_on_commit_callbacks):
    at = (timezone.now() + timedelta(hours=1)).isoformat()
    item = admin_api.post(
        "/api/admin/news", {"title": "Merger", "content": "Rumour.", "published_at": at}, format="json"
    )
    cue = Cue.objects.get()
    admin_api.patch(f"/api/admin/cues/{cue.pk}", {"data": {"title": "Merger confirmed"}}, format="json")

    with django_capture_on_commit_callbacks(execute=True):
        admin_api.post(f"/api/admin/cues/{cue.pk}/fire")

    news = News.objects.get()
    assert (str(news.pk), news.title, news.status) == (item.json()["id"], "Merger confirmed", "published")


def test_an_imported_sheet_keeps_a_scheduled_news_item_waiting_for_its_row(
    admin_api, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    at = timezone.now() + timedelta(hours=1)
    item = admin_api.post(
        "/api/admin/news", {"title": "Merger", "content": "x", "published_at": at.isoformat()}, format="json"
    )
    sheet = f"day,at,action,title,content\n1,{event_time_text(at)},news,Merger,Now official.\n".encode()
    upload = SimpleUploadedFile("script.csv", sheet, content_type="text/csv")
    assert admin_api.post("/api/admin/cues/import", {"file": upload}, format="multipart").status_code == 200

    cue = Cue.objects.get()
    assert str(cue.news_id) == item.json()["id"]  # the same item, not a second one
    with django_capture_on_commit_callbacks(execute=True):
        services.cue_fire(cue=cue, by=None)
    news = News.objects.get()
    assert (news.title, news.content, news.status) == ("Merger", "Now official.", "published")


def test_the_news_admin_refuses_a_later_time_it_cannot_schedule_without_an_error_page(client, admin_user):
    client.force_login(admin_user)
    at = timezone.localtime() + timedelta(hours=1)
    form = {
        "title": "Long",
        "content": "x" * 20_001,
        "published_at_0": at.strftime("%Y-%m-%d"),
        "published_at_1": at.strftime("%H:%M:%S"),
    }
    response = client.post("/admin/newsroom/news/add/", form, follow=True)
    assert response.status_code == 200
    assert "Not saved: The content is at most 20,000 characters." in response.content.decode()
    assert not News.objects.exists() and not Cue.objects.exists()


def test_undo_is_refused_when_the_price_moved_since_the_cue(admin_api, admin_user, company):
    from market.services import price_set

    cue = services.cue_create(
        by=admin_user, raw={"day": 1, "at": later(hours=1), "action": "price", "ticker": "ACME", "price": "12.00"}
    )
    services.cue_fire(cue=cue, by=admin_user)
    price_set(company=company, price=Decimal("13.00"), by=admin_user)  # an organiser's own change since

    response = admin_api.post("/api/admin/run-sheet/undo")

    assert (response.status_code, response.json()["code"]) == (409, "price_changed")
    company.refresh_from_db()
    assert company.current_price == Decimal("13.00")


def test_an_import_without_a_scheduled_items_row_warns_it_stays_a_draft(admin_api):
    from django.core.files.uploadedfile import SimpleUploadedFile

    at = timezone.now() + timedelta(hours=1)
    body = {"title": "Merger", "content": "x", "published_at": at.isoformat()}
    admin_api.post("/api/admin/news", body, format="json")
    sheet = f"day,at,action,text\n1,{event_time_text(at)},note,Mic check\n".encode()

    report = admin_api.post(
        "/api/admin/cues/import", {"file": SimpleUploadedFile("s.csv", sheet), "dry_run": "true"}, format="multipart"
    ).json()

    assert any("“Merger”" in warning and "stays a draft" in warning for warning in report["warnings"])


def test_a_day_opened_by_hand_after_its_close_time_shows_no_close_and_stays_open(admin_user, api):
    stale = due_cue("close", timezone.now() - timedelta(minutes=1))
    market_open(by=None)
    services.cue_create(by=admin_user, raw={"day": 1, "at": later(hours=1), "action": "note", "text": "x"})

    assert api.get("/api/market").json()["closes_at"] is None
    run_due()
    stale.refresh_from_db()
    assert stale.status == "skipped" and "opened (by hand) after this close time" in stale.reason
    assert api.get("/api/market").json()["status"] == "open"


@pytest.mark.parametrize(
    "options, words",
    [
        ({"revealed": 9}, "from 0 to 3"),
        ({"bogus": 1}, "Unknown option"),
    ],
)
def test_a_scene_cue_with_options_the_director_would_refuse_is_refused_when_written(admin_api, options, words):
    body = {"day": 1, "at": later(hours=1), "action": "scene", "data": {"scene": "podium", "options": options}}
    response = admin_api.post("/api/admin/cues", body, format="json")
    assert response.status_code == 400 and words in " ".join(response.json()["errors"]["options"])


def test_a_scene_cue_is_checked_for_what_it_can_be_before_its_time(admin_api):
    body = {
        "day": 1,
        "at": later(hours=1),
        "action": "scene",
        "data": {"scene": "countdown", "options": {"to": "+00:10:00"}},
    }
    assert admin_api.post("/api/admin/cues", body, format="json").status_code == 400
    # No news published and no bell scheduled yet: fine for later, checked again when it fires.
    for options in ({}, {"to": "bell", "title": "Day 2"}):
        scene = "news" if not options else "countdown"
        body = {"day": 1, "at": later(hours=1), "action": "scene", "data": {"scene": scene, "options": options}}
        assert admin_api.post("/api/admin/cues", body, format="json").status_code == 201

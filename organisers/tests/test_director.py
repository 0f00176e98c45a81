"""The broadcast director (SPEC §8): the scene on the stream taken through the API, each scene's
options checked and its data built; the podium, the schools and each day's winners worked out as
the results workbook does (one computation), ties as SPEC §3 says; a team's daily ranks."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from market.models import AuditEntry, Participant, TradingDay
from market.selectors import daily_ranks
from market.services import market_close, market_open, price_set, trade_execute
from newsroom.services import news_create
from organisers.director import live
from organisers.models import Broadcast
from organisers.standings import day_winners, podium, school_standings

pytestmark = pytest.mark.django_db


def worth(team: Participant, value: str, *, last_trade_minutes_ago: int | None = None) -> Participant:
    """A team's value as a hand-made event sets it (and when it last traded: SPEC §3's tie-break)."""
    last = timezone.now() - timedelta(minutes=last_trade_minutes_ago) if last_trade_minutes_ago is not None else None
    Participant.objects.filter(pk=team.pk).update(portfolio_value=Decimal(value), last_trade_at=last)
    return team


@pytest.fixture
def field(make_team):
    """Five teams in two schools and one without: values by hand."""
    return {
        "ace": worth(make_team("Aces", school="SMA 1"), "130000.00"),
        "bee": worth(make_team("Bees", school="SMA 1"), "90000.00"),
        "cat": worth(make_team("Cats", school="SMA 2"), "110000.00", last_trade_minutes_ago=5),
        "dog": worth(make_team("Dogs", school="sma 2 "), "110000.00", last_trade_minutes_ago=9),
        "eel": worth(make_team("Eels", school=""), "120000.00"),
    }


def take(admin_api, scene: str, **options):
    return admin_api.post("/api/admin/scene", {"scene": scene, "options": options}, format="json")


# The API -----------------------------------------------------------------------------------------


def test_the_stream_shows_the_market_until_a_scene_is_taken(admin_api):
    assert admin_api.get("/api/admin/scene").json() == {"scene": "market", "options": {}, "taken_at": None, "data": {}}


def test_an_organiser_takes_a_scene_and_every_screen_hears_it(
    admin_api, admin_user, field, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr("overlay.events.send_now", lambda event, **kwargs: sent.append(event))

    with django_capture_on_commit_callbacks(execute=True):
        response = take(admin_api, "leaderboard", top=3)

    assert response.status_code == 200
    body = response.json()
    assert (body["scene"], body["options"]) == ("leaderboard", {"top": 3})
    assert [entry["display_name"] for entry in body["data"]["entries"]] == ["Aces", "Eels", "Dogs"]
    assert admin_api.get("/api/admin/scene").json() == body
    (event,) = [event for event in sent if event["type"] == "scene"]
    assert event["data"] == body
    entry = AuditEntry.objects.get(action="scene_take")
    assert (entry.actor, entry.data["new"]) == (admin_user, {"scene": "leaderboard", "options": {"top": 3}})


@pytest.mark.parametrize(
    "body, field_name",
    [
        ({"scene": "fireworks"}, "scene"),
        ({"scene": ["podium"]}, "scene"),
        ({"scene": "leaderboard", "options": {"top": 0}}, "options.top"),
        ({"scene": "leaderboard", "options": {"top": "5"}}, "options.top"),
        ({"scene": "podium", "options": {"revealed": 4}}, "options.revealed"),
        ({"scene": "market", "options": {"top": 3}}, "options.top"),
        ({"scene": "movers", "options": {"count": 11}}, "options.count"),
        ({"scene": "news", "options": {"news": "not-an-id"}}, "options.news"),
        ({"scene": "news"}, "options.news"),  # nothing published yet
        ({"scene": "countdown", "options": {"to": "bell"}}, "options.to"),  # no bell scheduled
        ({"scene": "countdown", "options": {"to": "+00:10:00"}}, "options.to"),
        ({"scene": "countdown", "options": {"to": "2020-01-01 10:00"}}, "options.to"),
        ({"scene": "countdown", "options": {"to": "23:59", "title": "x" * 121}}, "options.title"),
        ({"scene": "leaderboard", "options": [1]}, "options"),
        ({"scene": "leaderboard", "colour": "red"}, "colour"),
    ],
)
def test_an_unknown_scene_or_a_wrong_option_is_bad_input_and_changes_nothing(admin_api, body, field_name):
    response = admin_api.post("/api/admin/scene", body, format="json")

    assert response.status_code == 400
    assert (response.json()["code"], field_name in response.json()["errors"]) == ("validation_error", True)
    assert Broadcast.load().scene == "market"


def test_teams_and_strangers_are_refused(team_api, api):
    for client, status in ((team_api, 403), (api, 401)):
        assert client.get("/api/admin/scene").status_code == status
        assert client.post("/api/admin/scene", {"scene": "podium"}, format="json").status_code == status
    assert Broadcast.load().scene == "market"


def test_a_page_loaded_later_finds_the_scene_in_its_snapshot(admin_api, field):
    from overlay import domain
    from overlay.viewers import OVERLAY_VIEWER

    take(admin_api, "podium", revealed=1)

    snapshot = domain.snapshot(OVERLAY_VIEWER, frozenset({"scene"}))
    assert snapshot["scene"]["scene"] == "podium"
    assert [place["display_name"] for place in snapshot["scene"]["data"]["places"]] == ["Dogs"]
    assert "scene" not in domain.snapshot(OVERLAY_VIEWER, frozenset({"market"}))


# Each scene's data -------------------------------------------------------------------------------


def test_the_podium_reveals_third_then_second_then_first_and_never_early(field):
    steps = [[place["display_name"] for place in podium(revealed)["places"]] for revealed in range(4)]

    # Dogs and Cats are both worth 110,000: Dogs last traded earlier, so Dogs place third (SPEC §3).
    assert steps == [[], ["Dogs"], ["Dogs", "Eels"], ["Dogs", "Eels", "Aces"]]
    assert podium(2)["count"] == 3
    assert podium(1)["places"][0] == {
        "place": 3,
        "rank": 3,
        "display_name": "Dogs",
        "school": "sma 2 ",
        "total_value": Decimal("110000.00"),
        "return_pct": Decimal("10.00"),
        "trades": 0,
    }


def test_ties_are_broken_as_the_leaderboard_does(field):
    # Cats and Dogs are both worth 110,000: Dogs traded last earlier, so Dogs rank first (SPEC §3).
    worth(field["eel"], "100000.00")
    worth(field["dog"], "110000.00", last_trade_minutes_ago=9)
    assert [place["display_name"] for place in podium(3)["places"]] == ["Cats", "Dogs", "Aces"]


def test_a_podium_of_two_teams_reveals_two_places(make_team):
    worth(make_team("Solo", school="A"), "1.00")
    worth(make_team("Duo", school="B"), "2.00")
    assert podium(3) == {"count": 2, "revealed": 2, "places": podium(3)["places"]}
    assert [place["place"] for place in podium(3)["places"]] == [2, 1]


def test_the_schools_standings_against_a_hand_made_event(field):
    rows = school_standings()

    # Both schools average 10% and combine to 10%: by name. "sma 2 " and "SMA 2" are one school,
    # named as its best team wrote it.
    assert [(row["rank"], row["school"], row["teams"]) for row in rows] == [(1, "SMA 1", 2), (2, "sma 2", 2)]
    sma1, sma2 = rows
    assert (sma2["combined_value"], sma2["combined_return_pct"], sma2["average_return_pct"]) == (
        Decimal("220000.00"),
        Decimal("10.00"),
        Decimal("10.00"),
    )
    assert (sma1["combined_value"], sma1["combined_return_pct"], sma1["average_return_pct"]) == (
        Decimal("220000.00"),
        Decimal("10.00"),
        Decimal("10.00"),
    )
    assert sma2["best_team"]["display_name"] == "Dogs"
    assert sma1["best_team"] == {
        "rank": 1,
        "display_name": "Aces",
        "total_value": Decimal("130000.00"),
        "return_pct": Decimal("30.00"),
    }


def test_each_days_winners_against_a_hand_made_event(make_team, make_company):
    acme = make_company("ACME", "10.00")
    bulls, bears, owls = make_team("Bulls"), make_team("Bears"), make_team("Owls")
    market_open(by=None)
    trade_execute(participant=bulls, company=acme, side="buy", quantity=1000)
    trade_execute(participant=bears, company=acme, side="buy", quantity=100)
    price_set(company=acme, price=Decimal("11.00"), by=None)  # bulls +1,000, bears +100
    market_close(by=None)
    market_open(by=None)
    price_set(company=acme, price=Decimal("9.00"), by=None)  # bulls -2,000, bears -200
    trade_execute(participant=owls, company=acme, side="buy", quantity=10)
    price_set(company=acme, price=Decimal("9.90"), by=None)  # owls +9
    market_close(by=None)

    winners = [(row["day"], row["place"], row["display_name"], row["day_return_pct"]) for row in day_winners()]

    assert winners == [
        (1, 1, "Bulls", Decimal("1.00")),
        (1, 2, "Bears", Decimal("0.10")),
        (1, 3, "Owls", Decimal("0.00")),
        (2, 1, "Owls", Decimal("0.01")),
        (2, 2, "Bears", Decimal("-0.11")),
        (2, 3, "Bulls", Decimal("-1.09")),  # 101,000 → 99,900
    ]
    ranks = daily_ranks(Participant.objects.get(pk=bears.pk))
    assert [(row["day"], row["rank"], row["teams"], row["value"]) for row in ranks] == [
        (1, 2, 3, Decimal("100100.00")),
        (2, 2, 3, Decimal("99990.00")),
    ]
    assert ranks[1]["day_return_pct"] == Decimal("-0.11")


def test_the_movers_are_the_days_biggest_gainers_and_losers(make_company, open_market):
    companies = {ticker: make_company(ticker, "100.00") for ticker in ("UP", "UPUP", "DOWN", "FLAT")}
    for ticker, new in (("UP", "105.00"), ("UPUP", "120.00"), ("DOWN", "90.00")):
        price_set(company=companies[ticker], price=Decimal(new), by=None)

    data = live.payload("movers", {"count": 1})["data"]

    assert [company["ticker"] for company in data["gainers"]] == ["UPUP"]
    assert [(company["ticker"], company["change_pct"]) for company in data["losers"]] == [("DOWN", "-10.00")]


def test_after_the_close_the_movers_are_that_days_moves(make_company):
    acme = make_company("ACME", "100.00")
    market_open(by=None)
    price_set(company=acme, price=Decimal("80.00"), by=None)
    market_close(by=None)  # the close resets today's change: the scene shows the day that ended

    data = live.payload("movers", {"count": 5})["data"]

    assert [(company["ticker"], company["change_pct"]) for company in data["losers"]] == [("ACME", "-20.00")]


def test_the_news_scene_shows_the_latest_item_or_the_one_chosen(admin_api):
    older = news_create(by=None, title="Older", content="First.", published_at=timezone.now() - timedelta(hours=1))
    news_create(by=None, title="Latest", content="Second.", published_at=timezone.now())

    assert take(admin_api, "news").json()["data"]["news"]["title"] == "Latest"
    chosen = take(admin_api, "news", news=str(older.pk)).json()
    assert (chosen["data"]["news"]["title"], chosen["data"]["news"]["content"]) == ("Older", "First.")


def test_the_countdown_runs_to_the_next_bell_or_a_time(admin_api):
    opens = timezone.now() + timedelta(hours=2)
    TradingDay.objects.create(number=1, scheduled_open_at=opens)

    to_bell = take(admin_api, "countdown").json()
    assert (to_bell["data"]["bell"], to_bell["data"]["title"]) == ("open", "Trading opens")
    assert datetime.fromisoformat(to_bell["data"]["to"]) == opens.replace(microsecond=opens.microsecond // 1000 * 1000)

    later = (timezone.localtime() + timedelta(hours=1)).replace(second=0, microsecond=0)
    to_time = take(admin_api, "countdown", to=later.strftime("%Y-%m-%d %H:%M"), title="Results").json()
    assert (datetime.fromisoformat(to_time["data"]["to"]), to_time["data"]["title"]) == (later, "Results")


def test_a_take_expecting_what_is_no_longer_on_air_changes_nothing(admin_user, field):
    from organisers.director.services import SceneChanged, scene_take

    scene_take(by=admin_user, scene="podium", options={"revealed": 0})
    seen = ("podium", {"revealed": 0})
    scene_take(by=admin_user, scene="podium", options={"revealed": 1}, expected=seen)

    with pytest.raises(SceneChanged):  # the second organiser's press, from the same page
        scene_take(by=admin_user, scene="podium", options={"revealed": 1}, expected=seen)
    assert (Broadcast.load().scene, Broadcast.load().options) == ("podium", {"revealed": 1})


def test_every_page_shows_the_scene_as_it_was_taken_even_after_values_move(admin_api, field):
    taken = take(admin_api, "podium", revealed=1).json()
    worth(field["dog"], "1.00")  # a correction after the reveal: the ceremony does not reshuffle on air

    assert admin_api.get("/api/admin/scene").json() == taken
    assert live.current()["data"]["places"][0]["display_name"] == "Dogs"
    again = take(admin_api, "podium", revealed=1).json()  # taken again: the new standings
    assert again["data"]["places"][0]["display_name"] == "Cats"


def test_day_winners_go_by_the_exact_return_not_the_rounded_one(make_team):
    from market.models import DailyValue

    small = make_team("Small", starting_cash=Decimal("1000.00"))  # +1.004%: 1.00% shown
    big = make_team("Big", starting_cash=Decimal("100000.00"))  # +0.996%: 1.00% shown, a higher value
    now = timezone.now()
    DailyValue.objects.create(participant=small, day=1, cash=Decimal("0"), value=Decimal("1010.04"), at=now)
    DailyValue.objects.create(participant=big, day=1, cash=Decimal("0"), value=Decimal("100996.00"), at=now)

    winners = day_winners()

    assert [(row["display_name"], row["day_return_pct"]) for row in winners] == [
        ("Small", Decimal("1.00")),
        ("Big", Decimal("1.00")),
    ]

from decimal import Decimal

import pytest
from django.utils import timezone

from market import services
from market.tests.helpers import assert_problem, buy

pytestmark = pytest.mark.django_db


def test_companies_list_shows_price_and_change(team_api, make_company):
    make_company("UP", "10.00")
    down = make_company("DOWN", "8.00")
    services.price_set(company=down, price=Decimal("7.00"), by=None)

    body = team_api.get("/api/companies").json()

    rows = {row["ticker"]: row for row in body["results"]}
    assert rows["DOWN"]["price"] == "7.00"
    assert rows["DOWN"]["previous_price"] == "8.00"
    assert rows["DOWN"]["change"] == "-1.00"
    assert rows["DOWN"]["change_pct"] == "-12.50"
    assert rows["UP"]["change_pct"] == "0.00"
    assert set(rows["UP"]) == {
        "id",
        "ticker",
        "name",
        "description",
        "price",
        "previous_price",
        "change",
        "change_pct",
        "is_active",
    }


def test_company_detail_adds_financials_and_history(team_api, make_company):
    make_company("FIN", "3.00", financials={"2025": {"revenue": 120, "profit": 12}})
    body = team_api.get("/api/companies/fin").json()
    assert body["financials"] == {"2025": {"revenue": 120, "profit": 12}}
    assert body["history"][0]["price"] == "3.00"


def test_unknown_company_is_404(team_api):
    assert_problem(team_api.get("/api/companies/NOPE"), 404, "not_found")


def test_companies_need_sign_in(api, company):
    assert_problem(api.get("/api/companies"), 401, "not_authenticated")


def test_market_is_public(api):
    assert api.get("/api/market").status_code == 200


def leaderboard_names(client) -> list[str]:
    return [row["display_name"] for row in client.get("/api/leaderboard").json()["results"]]


def test_leaderboard_ranks_by_value_then_earlier_last_trade_then_name(api, make_team, company, open_market):
    early, late, idle_b, idle_a = make_team("Early"), make_team("Late"), make_team("Idle B"), make_team("Idle A")
    for team in (early, late):
        services.trade_execute(participant=team, company=company, side="buy", quantity=1)
    make_team("Rich", starting_cash=Decimal("200000.00"))
    api.force_authenticate(early.user)

    body = api.get("/api/leaderboard").json()

    assert [row["display_name"] for row in body["results"]] == ["Rich", "Early", "Late", "Idle A", "Idle B"]
    assert [row["rank"] for row in body["results"]] == [1, 2, 3, 4, 5]
    assert body["results"][1] == {
        "rank": 2,
        "display_name": "Early",
        "school": "",
        "total_value": "100000.00",
        "return_pct": "0.00",
        "trades": 1,
    }
    ranks = {row["display_name"]: row["rank"] for row in body["results"]}
    for team in (early, late, idle_a, idle_b):
        api.force_authenticate(team.user)
        assert api.get("/api/portfolio").json()["rank"] == ranks[team.display_name]


def test_leaderboard_shows_return_against_starting_cash(team_api, team, company, open_market, admin_api):
    buy(team_api, quantity=1000)
    services.price_set(company=company, price=Decimal("15.00"), by=None)
    row = team_api.get("/api/leaderboard").json()["results"][0]
    assert row["total_value"] == "105000.00"
    assert row["return_pct"] == "5.00"


def test_hidden_leaderboard_is_refused_to_teams_but_not_organisers(team_api, admin_api, team, event_settings):
    event_settings.leaderboard_visible = False
    event_settings.save()
    assert_problem(team_api.get("/api/leaderboard"), 403, "leaderboard_hidden")
    assert admin_api.get("/api/leaderboard").status_code == 200


def test_portfolio_shows_rank(team_api, team, other_team, company, open_market):
    services.trade_execute(participant=other_team, company=company, side="buy", quantity=1)
    services.price_set(company=company, price=Decimal("20.00"), by=None)
    assert team_api.get("/api/portfolio").json()["rank"] == 2


def test_news_are_published_only_newest_first(team_api, admin_user):
    from newsroom.models import News

    now = timezone.now()
    News.objects.create(title="old", content="x", published_at=now - timezone.timedelta(hours=2))
    News.objects.create(title="new", content="x", published_at=now - timezone.timedelta(minutes=1))
    News.objects.create(title="scheduled", content="x", published_at=now + timezone.timedelta(hours=1))
    News.objects.create(title="draft", content="x")

    body = team_api.get("/api/news").json()

    assert [item["title"] for item in body["results"]] == ["new", "old"]
    assert set(body["results"][0]) == {"id", "title", "content", "published_at"}


def test_scheduled_news_cannot_be_read_early_by_id(team_api):
    from newsroom.models import News

    secret = News.objects.create(title="merger", content="x", published_at=timezone.now() + timezone.timedelta(hours=1))
    assert_problem(team_api.get(f"/api/news/{secret.pk}"), 404, "not_found")


def test_news_need_sign_in(api):
    assert_problem(api.get("/api/news"), 401, "not_authenticated")

"""The hot public reads come from the cache, and the next read after any change shows the change.

The changes here commit (django_capture_on_commit_callbacks(execute=True)), as every request does
on the server: the cache is renewed once a change has committed.
"""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from common import read_cache
from common.read_cache import read_cached, reads_changed
from market import services
from newsroom.services import news_create

pytestmark = pytest.mark.django_db


def queries_for(client, path: str) -> tuple[dict, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return response.json(), len(queries)


def test_a_second_read_of_the_companies_comes_from_the_cache(team_api, make_company):
    for ticker in ("ACME", "BOLT", "CRUX"):
        make_company(ticker, "10.00")
    first, first_queries = queries_for(team_api, "/api/companies")
    second, second_queries = queries_for(team_api, "/api/companies")
    assert second == first
    assert second_queries < first_queries
    assert not any("companies" in q["sql"] for q in _queries(team_api, "/api/companies"))


def _queries(client, path: str) -> list[dict]:
    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    return queries.captured_queries


def test_a_price_change_is_on_the_next_read_of_every_hot_read(
    team_api, api, company, make_team, django_capture_on_commit_callbacks
):
    holder = make_team("Holders")
    with django_capture_on_commit_callbacks(execute=True):
        services.market_open(by=None)
        services.trade_execute(participant=holder, company=company, side="buy", quantity=10)
    team_api.get("/api/companies"), team_api.get("/api/companies/ACME"), team_api.get("/api/leaderboard")

    with django_capture_on_commit_callbacks(execute=True):
        services.price_set(company=company, price=Decimal("13.00"), by=None)

    assert team_api.get("/api/companies").json()["results"][0]["price"] == "13.00"
    detail = team_api.get("/api/companies/ACME").json()
    assert (detail["price"], detail["history"][-1]["price"]) == ("13.00", "13.00")
    board = {e["display_name"]: e["total_value"] for e in team_api.get("/api/leaderboard").json()["results"]}
    assert Decimal(board["Holders"]) == holder.starting_cash - Decimal("100.00") + Decimal("130.00") - _fees(holder)


def _fees(team) -> Decimal:
    return sum((trade.fee for trade in team.transactions.all()), Decimal("0.00"))


def test_the_bell_is_on_the_next_read_of_the_market(api, django_capture_on_commit_callbacks):
    assert api.get("/api/market").json()["status"] == "closed"
    with django_capture_on_commit_callbacks(execute=True):
        services.market_open(by=None)
    assert api.get("/api/market").json()["status"] == "open"
    with django_capture_on_commit_callbacks(execute=True):
        services.market_close(by=None)
    assert api.get("/api/market").json()["status"] == "closed"


def test_a_trade_is_on_the_next_read_of_the_leaderboard(
    team, team_api, company, open_market, django_capture_on_commit_callbacks
):
    assert team_api.get("/api/leaderboard").json()["results"][0]["trades"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        team_api.post("/api/transactions", {"ticker": "ACME", "type": "buy", "quantity": 1}, format="json")
    assert team_api.get("/api/leaderboard").json()["results"][0]["trades"] == 1


def test_news_is_on_the_next_read_when_published_and_a_scheduled_item_when_its_time_comes(
    team_api, django_capture_on_commit_callbacks
):
    assert team_api.get("/api/news").json()["count"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        news_create(by=None, title="Rates cut", content="x", published_at=timezone.now())
        news_create(by=None, title="Results", content="x", published_at=timezone.now() + timedelta(seconds=1.5))
    assert [n["title"] for n in team_api.get("/api/news").json()["results"]] == ["Rates cut"]

    # Nobody changes anything when a scheduled item's time comes: the cached feed expires then.
    time.sleep(1.6)
    assert [n["title"] for n in team_api.get("/api/news").json()["results"]] == ["Results", "Rates cut"]


def test_pages_are_cached_apart_and_odd_queries_are_not_cached(team_api, make_company):
    for n in range(55):
        make_company(f"C{n:02}", "10.00")
    page_one = team_api.get("/api/companies").json()
    page_two = team_api.get("/api/companies?page=2").json()
    assert page_one["results"][0]["ticker"] == "C00"
    assert page_two["results"][0]["ticker"] == "C50"
    assert _queries(team_api, "/api/companies?page=2&x=1") != []  # not from the cache
    assert "x=1" not in (team_api.get("/api/companies").json()["next"] or "")


def test_a_read_that_raced_a_change_is_not_served_after_it(django_capture_on_commit_callbacks):
    # The read saw the old state; the change commits while it is being built.
    def build_old():
        with django_capture_on_commit_callbacks(execute=True):
            reads_changed("market")
        return "old"

    assert read_cached("market", "race", build_old) == "old"
    assert read_cached("market", "race", lambda: "new") == "new"
    assert read_cached("market", "race", lambda: "newer") == "new"  # and the new one is kept


def test_a_change_that_rolls_back_renews_nothing(django_capture_on_commit_callbacks):
    read_cached("market", "kept", lambda: "before")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        reads_changed("market")
        transaction.set_rollback(True)
    assert read_cached("market", "kept", lambda: "after") == "before"


def test_a_cache_that_is_down_means_reads_from_the_database(api, monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("cache unreachable")

    monkeypatch.setattr(read_cache.cache, "get_many", down)
    assert api.get("/api/market").json()["status"] == "closed"


@override_settings(READ_CACHE=False)
def test_with_the_read_cache_off_every_read_goes_to_the_database(team_api, company):
    team_api.get("/api/companies")
    assert any("companies" in q["sql"] for q in _queries(team_api, "/api/companies"))


def test_only_the_plain_page_number_is_cached(rf):
    from rest_framework.request import Request

    def key(query: str):
        return read_cache.page_key(Request(rf.get(f"/api/companies{query}")))

    assert key("") == key("?page=1")
    assert key("?page=2").endswith("/api/companies?page=2")
    for odd in ("?page=01", "?page=+1", "?page=%201", "?page=1&page=2", "?page=9999999", "?x=1"):
        assert key(odd) is None, odd


def test_deleting_a_teams_account_in_the_admin_takes_it_off_the_leaderboard(
    admin_user, team, other_team, team_api, django_capture_on_commit_callbacks
):
    from django.test import Client

    names = lambda: {e["display_name"] for e in team_api.get("/api/leaderboard").json()["results"]}  # noqa: E731
    assert names() == {"Bull Riders", "Bear Necessities"}
    organiser = Client()
    organiser.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = organiser.post(f"/admin/accounts/user/{other_team.user.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert names() == {"Bull Riders"}

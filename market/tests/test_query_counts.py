"""Reads cost a fixed number of queries, whatever the number of teams, companies or trades."""

from decimal import Decimal

import pytest

from market import services

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[3, 30], ids=["small", "large"])
def market_of_size(request, make_team, make_company, open_market):
    size = request.param
    companies = [make_company(f"C{n}", "10.00") for n in range(size)]
    teams = [make_team(f"Team {n:03d}") for n in range(size)]
    for team in teams[:5]:
        for company in companies:
            services.trade_execute(participant=team, company=company, side="buy", quantity=2)
    return teams


def test_portfolio_queries_do_not_grow(api, market_of_size, django_assert_max_num_queries):
    api.force_authenticate(market_of_size[0].user)
    with django_assert_max_num_queries(6):
        response = api.get("/api/portfolio")
    assert response.status_code == 200


def test_leaderboard_queries_do_not_grow(api, market_of_size, django_assert_max_num_queries):
    api.force_authenticate(market_of_size[0].user)
    with django_assert_max_num_queries(6):
        response = api.get("/api/leaderboard")
    assert response.json()["count"] == len(market_of_size)


def test_companies_queries_do_not_grow(api, market_of_size, django_assert_max_num_queries):
    api.force_authenticate(market_of_size[0].user)
    with django_assert_max_num_queries(4):
        assert api.get("/api/companies").status_code == 200
    with django_assert_max_num_queries(5):
        assert api.get("/api/companies/C0").status_code == 200


def test_transactions_queries_do_not_grow(api, market_of_size, django_assert_max_num_queries):
    api.force_authenticate(market_of_size[0].user)
    with django_assert_max_num_queries(5):
        assert api.get("/api/transactions").status_code == 200


def test_a_trade_costs_the_same_whatever_the_size(api, market_of_size, django_assert_max_num_queries):
    api.force_authenticate(market_of_size[0].user)
    # The team, the ticker, the trade's seven statements (the advisory lock is PostgreSQL's only):
    # the bell burst's budget (docs/performance.md). The ORM version took 24.
    with django_assert_max_num_queries(10):
        response = api.post("/api/transactions", {"ticker": "C0", "type": "buy", "quantity": 1}, format="json")
    assert response.status_code == 201
    assert Decimal(response.json()["portfolio"]["cash"]) < Decimal("100000.00")

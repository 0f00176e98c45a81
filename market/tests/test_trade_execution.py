"""Buys and sells at the price of the moment, with fees, average cost and a value kept current."""

from decimal import Decimal

import pytest

from market import services
from market.models import Holding, Transaction
from market.tests.helpers import buy, sell

pytestmark = pytest.mark.django_db


def test_buy_takes_total_and_fee_from_cash(team_api, team, company, open_market, event_settings):
    event_settings.buy_fee_rate = Decimal("0.0015")
    event_settings.save()

    response = buy(team_api, quantity=333)  # total 3,330.00; fee 4.995 → 5.00 (half-up)

    assert response.status_code == 201
    trade = response.json()["transaction"]
    assert trade["ticker"] == "ACME"
    assert trade["type"] == "buy"
    assert trade["quantity"] == 333
    assert trade["price"] == "10.00"
    assert trade["total"] == "3330.00"
    assert trade["fee"] == "5.00"
    assert trade["day"] == 1
    portfolio = response.json()["portfolio"]
    assert portfolio["cash"] == "96665.00"
    assert portfolio["holdings"] == [
        {
            "ticker": "ACME",
            "name": "Acme",
            "quantity": 333,
            "reserved_quantity": 0,
            "average_cost": "10.00",
            "price": "10.00",
            "value": "3330.00",
            "cost": "3330.0000",
            "unrealized_pl": "0.00",
        }
    ]
    assert portfolio["total_value"] == "99995.00"
    assert portfolio["return_pct"] == "-0.01"
    team.refresh_from_db()
    assert team.cash == Decimal("96665.00")
    assert team.portfolio_value == Decimal("99995.00")
    assert team.trade_count == 1


def test_sell_adds_total_minus_fee(team_api, team, company, open_market, event_settings):
    event_settings.sell_fee_rate = Decimal("0.0025")
    event_settings.save()
    assert buy(team_api, quantity=100).status_code == 201
    services.price_set(company=company, price=Decimal("12.34"), by=None)

    response = sell(team_api, quantity=40)  # total 493.60; fee 1.234 → 1.23

    assert response.status_code == 201
    assert response.json()["transaction"]["fee"] == "1.23"
    team.refresh_from_db()
    assert team.cash == Decimal("100000.00") - Decimal("1000.00") + Decimal("493.60") - Decimal("1.23")
    assert Holding.objects.get(participant=team).quantity == 60


def test_trade_uses_the_price_at_execution(team_api, company, open_market):
    services.price_set(company=company, price=Decimal("10.55"), by=None)
    assert buy(team_api).json()["transaction"]["price"] == "10.55"


def test_average_cost_is_weighted_by_quantity(team_api, team, company, open_market):
    buy(team_api, quantity=10)  # at 10.00
    services.price_set(company=company, price=Decimal("13.00"), by=None)
    buy(team_api, quantity=20)  # at 13.00 → (100 + 260) / 30 = 12.00

    holding = buy(team_api, quantity=0 + 1).json()["portfolio"]["holdings"][0]  # one more at 13.00 → 373/31
    assert holding["average_cost"] == "12.03"
    assert holding["unrealized_pl"] == str(Decimal("13.00") * 31 - Decimal("373.00"))


def test_selling_everything_clears_the_holding_from_the_portfolio(team_api, team, company, open_market):
    buy(team_api, quantity=5)
    response = sell(team_api, quantity=5)
    assert response.json()["portfolio"]["holdings"] == []
    assert response.json()["portfolio"]["cash"] == "100000.00"


def test_ticker_is_case_insensitive(team_api, company, open_market):
    assert buy(team_api, "acme").json()["transaction"]["ticker"] == "ACME"


def test_transactions_list_is_own_trades_newest_first(team_api, team, other_team, make_company, open_market):
    make_company("ACME")
    make_company("BETA", "5.00")
    buy(team_api, "ACME", 1)
    buy(team_api, "BETA", 2)
    services.trade_execute(participant=other_team, company=make_company("GAMA"), side="buy", quantity=3)

    body = team_api.get("/api/transactions").json()

    assert body["count"] == 2
    assert [(t["ticker"], t["quantity"]) for t in body["results"]] == [("BETA", 2), ("ACME", 1)]
    fields = {"id", "ticker", "type", "quantity", "price", "total", "fee", "day", "created_at", "reversed_at", "order"}
    assert set(body["results"][0]) == fields


def test_transactions_are_paginated(team_api, company, open_market):
    for _ in range(55):
        buy(team_api)
    first = team_api.get("/api/transactions").json()
    assert first["count"] == 55
    assert len(first["results"]) == 50
    assert len(team_api.get(first["next"]).json()["results"]) == 5


def test_every_trade_is_recorded_with_its_day(team_api, team, company, open_market):
    buy(team_api, quantity=2)
    services.market_close(by=None)
    services.market_open(by=None)
    buy(team_api, quantity=3)
    assert list(Transaction.objects.order_by("created_at").values_list("day", "quantity")) == [(1, 2), (2, 3)]


def test_portfolio_endpoint_matches_the_trade_answer(team_api, company, open_market):
    after_trade = buy(team_api, quantity=7).json()["portfolio"]
    assert team_api.get("/api/portfolio").json() == after_trade


def test_portfolio_is_for_teams_only(admin_api):
    assert admin_api.get("/api/portfolio").status_code == 403

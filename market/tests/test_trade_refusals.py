"""Every refusal of SPEC §4 answers its code and leaves cash and holdings as they were."""

from decimal import Decimal

import pytest

from market import services
from market.models import Company
from market.tests.helpers import assert_problem, buy, sell, state

pytestmark = pytest.mark.django_db


def test_buy_refused_when_market_closed(team_api, team, company):
    before = state(team)
    assert_problem(buy(team_api), 409, "market_closed")
    assert state(team) == before


def test_sell_refused_after_the_closing_bell(team_api, team, company, open_market):
    assert buy(team_api, quantity=5).status_code == 201
    services.market_close(by=None)
    before = state(team)

    assert_problem(sell(team_api, quantity=5), 409, "market_closed")
    assert state(team) == before


def test_buy_refused_without_enough_cash_says_how_much(team_api, make_team, make_company, open_market):
    poor = make_team(starting_cash=Decimal("25.00"))
    make_company("PRICY", "10.00")
    team_api.force_authenticate(poor.user)
    before = state(poor)

    body = assert_problem(buy(team_api, "PRICY", 3), 409, "insufficient_funds")

    assert "you have 25.00 and need 30.00" in body["detail"]
    assert state(poor) == before


def test_buy_refused_when_the_fee_tips_it_over(team_api, make_team, company, open_market, event_settings):
    event_settings.buy_fee_rate = Decimal("0.01")
    event_settings.save()
    team = make_team(starting_cash=Decimal("30.00"))
    team_api.force_authenticate(team.user)

    assert_problem(buy(team_api, quantity=3), 409, "insufficient_funds")  # 30.00 + 0.30 fee
    assert buy(team_api, quantity=2).status_code == 201


def test_sell_refused_without_the_shares(team_api, team, company, open_market):
    assert buy(team_api, quantity=2).status_code == 201
    before = state(team)

    body = assert_problem(sell(team_api, quantity=3), 409, "insufficient_shares")

    assert "you have 2 ACME" in body["detail"]
    assert state(team) == before


def test_no_short_selling_of_a_stock_never_held(team_api, team, company, open_market):
    before = state(team)
    assert_problem(sell(team_api), 409, "insufficient_shares")
    assert state(team) == before


def test_price_changed_refusal_carries_the_current_price(team_api, team, company, open_market):
    services.price_set(company=company, price=Decimal("11.00"), by=None)
    before = state(team)

    body = assert_problem(buy(team_api, expected_price="10.00"), 409, "price_changed")

    assert body["price"] == "11.00"
    assert state(team) == before


def test_trade_fills_when_expected_price_matches(team_api, company, open_market):
    response = buy(team_api, expected_price="10.00")
    assert response.status_code == 201
    assert response.json()["transaction"]["price"] == "10.00"


def test_inactive_company_cannot_be_traded(team_api, team, company, open_market):
    Company.objects.filter(pk=company.pk).update(is_active=False)
    before = state(team)
    assert_problem(buy(team_api), 409, "company_inactive")
    assert state(team) == before


def test_frozen_team_cannot_trade(team_api, team, company, open_market):
    services.participant_freeze(participant=team, by=None)
    before = state(team)
    assert_problem(buy(team_api), 409, "participant_frozen")
    assert state(team) == before


def test_unfrozen_team_trades_again(team_api, team, company, open_market):
    services.participant_freeze(participant=team, by=None)
    services.participant_freeze(participant=team, frozen=False, by=None)
    assert buy(team_api).status_code == 201


def test_quantity_off_the_lot_size_is_a_validation_error(team_api, team, company, open_market, event_settings):
    event_settings.lot_size = 100
    event_settings.save()
    before = state(team)

    body = assert_problem(buy(team_api, quantity=150), 400, "validation_error")

    assert "lot size (100)" in body["errors"]["quantity"][0]
    assert state(team) == before
    assert buy(team_api, quantity=200).status_code == 201


def test_unknown_ticker_is_a_validation_error(team_api, team, company, open_market):
    before = state(team)
    body = assert_problem(buy(team_api, "NOPE"), 400, "validation_error")
    assert "ticker" in body["errors"]
    assert state(team) == before


def test_same_idempotency_key_with_another_body_is_refused(team_api, team, company, open_market):
    assert buy(team_api, quantity=1, HTTP_IDEMPOTENCY_KEY="order-1").status_code == 201
    before = state(team)

    assert_problem(buy(team_api, quantity=2, HTTP_IDEMPOTENCY_KEY="order-1"), 422, "idempotency_key_reused")
    assert state(team) == before


def test_admins_cannot_trade(admin_api, company, open_market):
    assert_problem(buy(admin_api), 403, "permission_denied")


def test_anonymous_cannot_trade(api, company, open_market):
    assert_problem(buy(api), 401, "not_authenticated")


def test_trades_are_throttled_per_team(team_api, other_team, company, open_market, monkeypatch):
    from market.throttles import TradeThrottle

    monkeypatch.setattr(TradeThrottle, "THROTTLE_RATES", {"trades": "3/min"})
    assert [buy(team_api).status_code for _ in range(4)] == [201, 201, 201, 429]
    team_api.force_authenticate(other_team.user)
    assert buy(team_api).status_code == 201  # another team has its own allowance

"""The trade's rules with no database (market/services/trading.py: the check step)."""

import uuid
from decimal import Decimal

import pytest

from common.problems import InvalidInput
from market.errors import (
    CompanyInactive,
    InsufficientFunds,
    InsufficientShares,
    MarketClosed,
    ParticipantFrozen,
    PriceChanged,
)
from market.services.trading import Ask, Terms, order_valid, trade_allowed, trade_fill

ACME = uuid.uuid4()


def terms(**changes) -> Terms:
    base = {
        "cash": Decimal("1000.00"),
        "frozen": False,
        "team_name": "Bull Riders",
        "starting_cash": Decimal("1000.00"),
        "trade_count": 0,
        "ticker": "ACME",
        "name": "Acme",
        "price": Decimal("10.00"),
        "active": True,
        "lot_size": 1,
        "buy_fee_rate": Decimal("0.0015"),
        "sell_fee_rate": Decimal("0.0025"),
        "day": 1,
    }
    return Terms(**{**base, **changes})


def holding(quantity: int, average: str = "8.0000") -> dict:
    return {"id": 7, "company_id": ACME, "quantity": quantity, "average_cost": Decimal(average)}


@pytest.mark.parametrize(
    "changes, order, refusal",
    [
        ({"day": None}, Ask(ACME, "buy", 1), MarketClosed),
        ({"frozen": True}, Ask(ACME, "buy", 1), ParticipantFrozen),
        ({"active": False}, Ask(ACME, "buy", 1), CompanyInactive),
        ({"lot_size": 10}, Ask(ACME, "buy", 15), InvalidInput),
        ({}, Ask(ACME, "buy", 1, expected_price=Decimal("9.99")), PriceChanged),
    ],
)
def test_an_order_the_rules_refuse_before_its_cost_is_known(changes, order, refusal):
    with pytest.raises(refusal):
        trade_allowed(terms(**changes), order)


def test_an_order_the_rules_allow():
    trade_allowed(terms(lot_size=10), Ask(ACME, "buy", 20, expected_price=Decimal("10.00")))


@pytest.mark.parametrize("side, quantity", [("short", 1), ("buy", 0), ("buy", -3), ("buy", True), ("sell", 1.5)])
def test_an_order_that_is_no_order_at_all(side, quantity):
    with pytest.raises(InvalidInput):
        order_valid(side, quantity)


def test_a_buy_costs_its_total_and_fee_and_averages_its_price_into_the_holding():
    fill = trade_fill(terms(), [holding(10)], Ask(ACME, "buy", 30))
    # 30 × 10.00 = 300.00, fee 0.45; average (10 × 8 + 300) / 40 = 9.5
    assert (fill.total, fill.fee, fill.cash_after) == (Decimal("300.00"), Decimal("0.45"), Decimal("699.55"))
    assert (fill.holding["id"], fill.holding["quantity"], fill.holding["average_cost"]) == (7, 40, Decimal("9.5000"))


def test_a_first_buy_makes_a_new_holding():
    fill = trade_fill(terms(), [], Ask(ACME, "buy", 3))
    assert fill.holding["id"] is None and fill.holding["quantity"] == 3
    assert fill.holding["average_cost"] == Decimal("10.0000")


def test_a_buy_beyond_the_cash_is_refused_with_what_the_team_has_and_needs():
    with pytest.raises(InsufficientFunds) as refused:
        trade_fill(terms(cash=Decimal("100.00")), [], Ask(ACME, "buy", 10))
    assert refused.value.as_problem()["needed"] == "100.15"


def test_a_sale_yields_its_total_less_its_fee_and_keeps_the_average_until_it_empties():
    fill = trade_fill(terms(), [holding(10)], Ask(ACME, "sell", 4))
    assert (fill.cash_after, fill.holding["quantity"], fill.holding["average_cost"]) == (
        Decimal("1039.90"),
        6,
        Decimal("8.0000"),
    )
    emptied = trade_fill(terms(), [holding(10)], Ask(ACME, "sell", 10))
    assert (emptied.holding["quantity"], emptied.holding["average_cost"]) == (0, Decimal("0"))


@pytest.mark.parametrize("held", [[], [holding(3)]])
def test_no_short_selling(held):
    with pytest.raises(InsufficientShares):
        trade_fill(terms(), held, Ask(ACME, "sell", 4))

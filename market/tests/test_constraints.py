"""Invariants the database itself enforces: a bug in Python code cannot break them."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from market.models import Company, Holding, PricePoint, TradingDay, Transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def company():
    return Company.objects.create(
        ticker="ACME", name="Acme", current_price=Decimal("10.00"), previous_price=Decimal("10.00")
    )


def refused(callable_) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        callable_()


def test_cash_below_zero_is_refused(team):
    refused(lambda: type(team).objects.filter(pk=team.pk).update(cash=Decimal("-0.01")))
    team.refresh_from_db()
    assert team.cash == Decimal("100000.00")


def test_duplicate_ticker_is_refused(company):
    refused(
        lambda: Company.objects.bulk_create([Company(ticker="ACME", name="Copy", current_price=1, previous_price=1)])
    )


@pytest.mark.parametrize("ticker", ["acme", "TOO-LONG-TICKER", "", "A B"])
def test_malformed_ticker_is_refused(ticker):
    refused(lambda: Company.objects.bulk_create([Company(ticker=ticker, name="X", current_price=1, previous_price=1)]))


@pytest.mark.parametrize("field", ["current_price", "previous_price"])
def test_price_must_be_positive(company, field):
    refused(lambda: Company.objects.filter(pk=company.pk).update(**{field: Decimal("0.00")}))


def test_holding_quantity_below_zero_is_refused(team, company):
    holding = Holding.objects.create(participant=team, company=company, quantity=5, average_cost=Decimal("10"))
    refused(lambda: Holding.objects.filter(pk=holding.pk).update(quantity=-1))


def test_one_holding_per_team_and_company(team, company):
    Holding.objects.create(participant=team, company=company, quantity=1)
    refused(lambda: Holding.objects.create(participant=team, company=company, quantity=2))


def make_trade(team, company, **fields) -> Transaction:
    values = {"type": "buy", "quantity": 3, "price": Decimal("10.25"), "day": 1, **fields}
    return Transaction.objects.create(participant=team, company=company, **values)


def test_trade_type_outside_buy_and_sell_is_refused(team, company):
    refused(lambda: make_trade(team, company, type="short"))


@pytest.mark.parametrize("quantity", [0, -1, 1_000_000_001])
def test_trade_quantity_out_of_range_is_refused(team, company, quantity):
    refused(lambda: make_trade(team, company, quantity=quantity))


def test_trade_total_is_computed_by_the_database(team, company):
    trade = make_trade(team, company)
    trade.refresh_from_db()
    assert trade.total == Decimal("30.75")


def test_idempotency_key_is_unique_per_team(team, other_team, company):
    make_trade(team, company, idempotency_key="k-1")
    make_trade(other_team, company, idempotency_key="k-1")  # another team may use the same key
    make_trade(team, company)  # and keys are optional
    make_trade(team, company)
    refused(lambda: make_trade(team, company, idempotency_key="k-1"))


def test_only_one_trading_day_is_open_at_a_time():
    now = timezone.now()
    TradingDay.objects.create(number=1, opened_at=now)
    refused(lambda: TradingDay.objects.create(number=2, opened_at=now))
    TradingDay.objects.create(number=2)  # a day not yet opened is fine


def test_a_day_cannot_close_before_it_opens():
    now = timezone.now()
    refused(lambda: TradingDay.objects.create(number=1, opened_at=now, closed_at=now - timezone.timedelta(seconds=1)))


def test_price_history_refuses_a_zero_price(company):
    refused(lambda: PricePoint.objects.create(company=company, price=Decimal("0"), at=timezone.now()))


def test_deleting_a_user_deletes_the_team_and_its_trades(team, company):
    make_trade(team, company)
    team.user.delete()
    assert not Transaction.objects.exists()

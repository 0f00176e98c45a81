"""Any sequence of orders placed and cancelled, market trades, price changes and bells keeps the
books (hypothesis): after every step the ledger identity holds, what the open orders hold is
exactly what the teams and their holdings say is held, and nothing is negative."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from common.problems import DomainError, InvalidInput
from market import selectors, services
from market.models import EventSettings, Order
from market.tests.helpers import assert_books

pytestmark = pytest.mark.django_db

TICKERS = ("ACME", "BOLT")
prices = st.integers(min_value=50, max_value=200).map(lambda cents: Decimal(cents) / 10)  # 5.0 to 20.0
teams = st.integers(min_value=0, max_value=1)
tickers = st.sampled_from(TICKERS)
quantities = st.integers(min_value=1, max_value=40)
operations = st.one_of(
    st.tuples(st.just("trade"), teams, tickers, st.sampled_from(["buy", "sell"]), quantities),
    st.tuples(
        st.just("place"),
        teams,
        tickers,
        st.sampled_from(["buy", "sell"]),
        st.sampled_from(["limit", "stop"]),
        quantities,
        prices,
        st.sampled_from(["day", "cancel"]),
    ),
    st.tuples(st.just("cancel"), teams, st.integers(min_value=0, max_value=5)),
    st.tuples(st.just("price"), tickers, prices),
    st.tuples(st.just("bell"), st.sampled_from(["open", "close"])),
    st.tuples(st.just("freeze"), teams, st.booleans()),
)


def play(op, teams, companies) -> None:
    kind, *args = op
    if kind == "trade":
        who, ticker, side, quantity = args
        services.trade_execute(participant=teams[who], company=companies[ticker], side=side, quantity=quantity)
    elif kind == "place":
        who, ticker, side, order_kind, quantity, price, expires = args
        data = {"ticker": ticker, "type": side, "kind": order_kind, "quantity": quantity, "price": str(price)}
        services.book_place(participant=teams[who], data={**data, "expires": expires})
    elif kind == "cancel":
        who, nth = args
        open_orders = list(Order.objects.filter(participant=teams[who], status="open").order_by("created_at"))
        if open_orders:
            services.book_cancel(order=open_orders[nth % len(open_orders)], participant=teams[who])
    elif kind == "price":
        ticker, price = args
        companies[ticker] = services.price_set(company=companies[ticker], price=price, by=None)
        services.book_fill_due()  # what the price change's commit asks the desk for
    elif kind == "bell":
        services.market_open(by=None) if args[0] == "open" else services.market_close(by=None)
        services.book_fill_due()
    else:
        who, frozen = args
        services.participant_freeze(participant=teams[who], frozen=frozen, by=None)
        services.book_fill_due()


@settings(
    max_examples=30,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operations, min_size=5, max_size=30))
def test_any_sequence_of_orders_trades_prices_and_bells_keeps_the_books(ops, make_team):
    cache.clear()
    with transaction.atomic():
        EventSettings.load()
        EventSettings.objects.filter(pk=1).update(buy_fee_rate=Decimal("0.0015"), sell_fee_rate=Decimal("0.0025"))
        companies = {
            ticker: services.company_create(by=None, ticker=ticker, name=ticker.title(), current_price=Decimal("10"))
            for ticker in TICKERS
        }
        players = [make_team(starting_cash=Decimal("500.00")) for _ in range(2)]
        services.market_open(by=None)
        for op in ops:
            try:
                with transaction.atomic():
                    play(op, players, companies)
            except (DomainError, InvalidInput):
                pass  # a refusal: it must have left nothing behind, which the books below check
            for team in players:
                assert_books(team)
            # An order still open is one the current price has not reached, or one that waits.
            if selectors.market_state()["status"] == "open":
                assert services.book_fill_due() == 0, op
        transaction.set_rollback(True)

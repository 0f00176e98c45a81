"""The ledger adds up: cash, holdings, values and the leaderboard follow from the recorded rows.

First a fixed sequence with its arithmetic written out, then random sequences (hypothesis) of
trades, price changes, bells and cash adjustments, each answer checked against a small model
and the end state checked against the database rows. Fees are rounded half-up to cents.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from market.models import CashAdjustment, Company, DailyValue, EventSettings, Holding, Participant, Transaction
from market.services import company_create
from market.throttles import TradeThrottle

pytestmark = pytest.mark.django_db

CENT = Decimal("0.01")
BUY_FEE_RATE = Decimal("0.0015")
SELL_FEE_RATE = Decimal("0.0025")
NEVER = datetime.min.replace(tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_trade_throttle(monkeypatch):
    # DRF reads DEFAULT_THROTTLE_RATES once, at class definition: set the rate on the class.
    monkeypatch.setattr(TradeThrottle, "rate", "1000000/min", raising=False)


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def charge_fees() -> None:
    EventSettings.load()
    EventSettings.objects.filter(pk=1).update(buy_fee_rate=BUY_FEE_RATE, sell_fee_rate=SELL_FEE_RATE)


def client_for(team: Participant) -> APIClient:
    api = APIClient()
    api.force_authenticate(team.user)
    return api


def order(api: APIClient, side: str, ticker: str, quantity: int, expected_price: Decimal | None = None):
    body = {"ticker": ticker, "type": side, "quantity": quantity}
    if expected_price is not None:
        body["expected_price"] = str(expected_price)
    return api.post("/api/transactions", body, format="json")


def set_price(admin_api: APIClient, company: Company, price: Decimal):
    return admin_api.patch(f"/api/admin/companies/{company.pk}", {"current_price": str(price)}, format="json")


def adjust_cash(admin_api: APIClient, team: Participant, amount: Decimal, reason: str = "organiser's correction"):
    return admin_api.post(
        f"/api/admin/participants/{team.pk}/adjust-cash", {"amount": str(amount), "reason": reason}, format="json"
    )


def refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code, body
    return body


# What the database says, recomputed from its rows


def ledger_cash(team: Participant) -> Decimal:
    """Starting cash − Σ(buy total + fee) + Σ(sell total − fee) + Σ adjustments, from the rows."""
    cash = team.starting_cash
    for trade in Transaction.objects.filter(participant=team, reversed_at__isnull=True):
        cash += -(trade.total + trade.fee) if trade.type == "buy" else trade.total - trade.fee
    for adjustment in CashAdjustment.objects.filter(participant=team):
        cash += adjustment.amount
    return cash


def ledger_holdings(team: Participant) -> dict[str, int]:
    """Σ bought − Σ sold per ticker, from the trade rows (tickers with nothing left omitted)."""
    held: Counter[str] = Counter()
    for ticker, side, quantity in Transaction.objects.filter(participant=team, reversed_at__isnull=True).values_list(
        "company__ticker", "type", "quantity"
    ):
        held[ticker] += quantity if side == "buy" else -quantity
    return {ticker: n for ticker, n in held.items() if n}


def kept_holdings(team: Participant) -> dict[str, int]:
    rows = Holding.objects.filter(participant=team, quantity__gt=0).values_list("company__ticker", "quantity")
    return dict(rows)


def value_at_current_prices(team: Participant) -> Decimal:
    prices = dict(Company.objects.values_list("ticker", "current_price"))
    return team.cash + sum((n * prices[t] for t, n in kept_holdings(team).items()), Decimal("0.00"))


def assert_ledger_adds_up(teams: list[Participant]) -> None:
    for team in teams:
        team.refresh_from_db()
        assert team.cash >= 0, team
        assert team.cash == ledger_cash(team), team
        assert kept_holdings(team) == ledger_holdings(team), team
        assert team.portfolio_value == value_at_current_prices(team), team
        assert team.trade_count == Transaction.objects.filter(participant=team, reversed_at__isnull=True).count(), team


def expected_leaderboard(teams: list[Participant]) -> list[tuple]:
    """Value desc, then the earlier last trade (teams that never traded after), then team name."""
    rows = []
    for team in teams:
        team.refresh_from_db()
        trades = Transaction.objects.filter(participant=team, reversed_at__isnull=True)
        last = trades.aggregate(last=Max("created_at"))["last"]
        value = value_at_current_prices(team)
        return_pct = cents((value - team.starting_cash) * 100 / team.starting_cash)
        rows.append((value, last, team.display_name, team.school, return_pct, trades.count()))
    rows.sort(key=lambda r: (-r[0], r[1] is None, r[1] or NEVER, r[2]))
    return [(rank, name, school, value, pct, n) for rank, (value, _, name, school, pct, n) in enumerate(rows, 1)]


def leaderboard(admin_api: APIClient) -> list[tuple]:
    response = admin_api.get("/api/leaderboard")
    assert response.status_code == 200
    return [
        (e["rank"], e["display_name"], e["school"], Decimal(e["total_value"]), Decimal(e["return_pct"]), e["trades"])
        for e in response.json()["results"]
    ]


# A fixed sequence, computed by hand


def test_a_fixed_day_of_trading_gives_the_hand_computed_cash_fees_values_and_ranking(make_team, admin_api):
    charge_fees()  # buy 0.15 %, sell 0.25 %
    acme = company_create(by=None, ticker="ACME", name="Acme", current_price=Decimal("10.00"))
    company_create(by=None, ticker="BOLT", name="Bolt", current_price=Decimal("3.00"))
    bulls = make_team("Bull Riders", school="SMA 1", starting_cash=Decimal("1000.00"))
    bears = make_team("Bear Necessities", school="SMA 2", starting_cash=Decimal("1000.00"))
    aardvarks = make_team("Aardvarks", school="SMA 3", starting_cash=Decimal("1000.00"))
    api = client_for(bulls)

    opened = admin_api.post("/api/admin/market/open")
    assert (opened.status_code, opened.json()["status"], opened.json()["day"]) == (200, "open", 1)

    # 10 ACME at 10.00: total 100.00, fee 100.00 × 0.0015 = 0.15; cash 1000.00 − 100.15 = 899.85
    first = order(api, "buy", "ACME", 10)
    assert first.status_code == 201
    assert {k: first.json()["transaction"][k] for k in ("price", "total", "fee", "day")} == {
        "price": "10.00",
        "total": "100.00",
        "fee": "0.15",
        "day": 1,
    }
    assert first.json()["portfolio"]["cash"] == "899.85"

    # 10 BOLT at 3.00: total 30.00, fee 0.045 → 0.05 half-up (half-even would say 0.04); cash 869.80
    second = order(api, "buy", "BOLT", 10)
    assert (second.json()["transaction"]["fee"], second.json()["portfolio"]["cash"]) == ("0.05", "869.80")

    # The organiser moves ACME to 12.50: value 869.80 + 10 × 12.50 + 10 × 3.00 = 1024.80
    assert set_price(admin_api, acme, Decimal("12.50")).status_code == 200
    bulls.refresh_from_db()
    assert bulls.portfolio_value == Decimal("1024.80")

    # Sell 4 ACME at 12.50: total 50.00, fee 0.125 → 0.13 half-up; cash 869.80 + 49.87 = 919.67
    third = order(api, "sell", "ACME", 4)
    assert third.status_code == 201
    assert (third.json()["transaction"]["total"], third.json()["transaction"]["fee"]) == ("50.00", "0.13")
    assert third.json()["portfolio"]["cash"] == "919.67"

    # Refusals change nothing: 7 ACME is more than the 6 held; 100 ACME costs 1250.00 + 1.875 → 1251.88.
    refused(order(api, "sell", "ACME", 7), 409, "insufficient_shares")
    too_dear = refused(order(api, "buy", "ACME", 100), 409, "insufficient_funds")
    assert (too_dear["cash"], too_dear["needed"]) == ("919.67", "1251.88")

    # Organisers' adjustments: a penalty, a prize, and a removal larger than the team's cash (refused).
    assert adjust_cash(admin_api, bulls, Decimal("-19.67"), "late penalty").json()["cash"] == "900.00"
    assert adjust_cash(admin_api, aardvarks, Decimal("5.00"), "quiz prize").json()["cash"] == "1005.00"
    refused(adjust_cash(admin_api, bears, Decimal("-1000.01")), 409, "insufficient_funds")

    closed = admin_api.post("/api/admin/market/close")
    assert (closed.status_code, closed.json()["status"]) == (200, "closed")
    refused(order(api, "buy", "BOLT", 1), 409, "market_closed")

    # Bull Riders: 1000.00 − 100.15 − 30.05 + 49.87 − 19.67 = 900.00 cash; 6 ACME, 10 BOLT.
    bulls.refresh_from_db()
    assert bulls.cash == Decimal("900.00")
    assert kept_holdings(bulls) == {"ACME": 6, "BOLT": 10}
    assert list(Transaction.objects.filter(participant=bulls).order_by("created_at").values_list("fee", flat=True)) == [
        Decimal("0.15"),
        Decimal("0.05"),
        Decimal("0.13"),
    ]
    # Value 900.00 + 6 × 12.50 + 10 × 3.00 = 1005.00, kept as the day-1 close too.
    assert bulls.portfolio_value == Decimal("1005.00")
    assert dict(DailyValue.objects.filter(day=1).values_list("participant__display_name", "value")) == {
        "Bull Riders": Decimal("1005.00"),
        "Aardvarks": Decimal("1005.00"),
        "Bear Necessities": Decimal("1000.00"),
    }
    portfolio = api.get("/api/portfolio").json()
    assert (portfolio["cash"], portfolio["total_value"], portfolio["return_pct"], portfolio["rank"]) == (
        "900.00",
        "1005.00",
        "0.50",
        1,
    )
    assert_ledger_adds_up([bulls, bears, aardvarks])

    # Bull Riders and Aardvarks tie at 1005.00: the team that traded ranks first, whatever the names.
    assert leaderboard(admin_api) == [
        (1, "Bull Riders", "SMA 1", Decimal("1005.00"), Decimal("0.50"), 3),
        (2, "Aardvarks", "SMA 3", Decimal("1005.00"), Decimal("0.50"), 0),
        (3, "Bear Necessities", "SMA 2", Decimal("1000.00"), Decimal("0.00"), 0),
    ]
    assert leaderboard(admin_api) == expected_leaderboard([bulls, bears, aardvarks])


# Random sequences, checked against a model


TEAM_NAMES = ["Team Alpha", "Team Bravo", "Team Charlie"]
START = Decimal("5000.00")
OPENING_PRICES = {"ACME": Decimal("10.00"), "BOLT": Decimal("3.33"), "CRUX": Decimal("250.00")}
TICKERS = list(OPENING_PRICES)

# Mostly trades, as in a real event; now and then the organiser acts.
KINDS = ["trade"] * 8 + ["price", "price", "adjust", "close", "open"]
team_index = st.integers(0, len(TEAM_NAMES) - 1)
amounts = st.decimals("0.01", "6000.00", places=2)
details = {
    "trade": st.tuples(
        team_index,
        st.sampled_from(TICKERS),
        st.sampled_from(["sell", "buy"]),
        st.integers(1, 25),
        st.sampled_from([None, "seen", None, "stale"]),  # expected_price: none, the price shown, an old one
        st.sampled_from([True, False]),  # a sell out of some position held, else as drawn (maybe unheld)
    ),
    "price": st.tuples(st.sampled_from(TICKERS), st.decimals("0.50", "900.00", places=2)),
    "adjust": st.tuples(team_index, st.one_of(amounts, amounts.map(lambda a: -a))),
    "close": st.just(()),
    "open": st.just(()),
}
operations = st.sampled_from(KINDS).flatmap(lambda kind: details[kind].map(lambda args: (kind, *args)))


@dataclass
class Market:
    """What the answers should be: the rules of SPEC §3, kept by hand."""

    prices: dict[str, Decimal] = field(default_factory=lambda: dict(OPENING_PRICES))
    cash: list[Decimal] = field(default_factory=lambda: [START] * len(TEAM_NAMES))
    held: Counter = field(default_factory=Counter)  # (team index, ticker) → shares
    is_open: bool = True
    day: int = 1
    kept: dict = field(default_factory=dict)  # (team name, day) → (cash, value) at close

    def value(self, i: int) -> Decimal:
        return self.cash[i] + sum(self.held[i, t] * self.prices[t] for t in TICKERS)


def play(op: tuple, market: Market, teams: list[Participant], companies: dict, admin_api: APIClient) -> None:
    """Send one operation and check its answer against the model; then move the model on."""
    kind, *args = op
    if kind == "trade":
        i, ticker, side, quantity, expected, within_holding = args
        positions = sorted(position for position, n in market.held.items() if n)
        if side == "sell" and within_holding and positions:
            i, ticker = positions[(i * len(TICKERS) + TICKERS.index(ticker)) % len(positions)]
            quantity = min(quantity, market.held[i, ticker])
        price = market.prices[ticker]
        shown = {None: None, "seen": price, "stale": price + CENT}[expected]
        response = order(client_for(teams[i]), side, ticker, quantity, shown)
        total = price * quantity
        fee = cents(total * (BUY_FEE_RATE if side == "buy" else SELL_FEE_RATE))
        if not market.is_open:
            refused(response, 409, "market_closed")
        elif expected == "stale":
            assert refused(response, 409, "price_changed")["price"] == str(price)
        elif side == "buy" and total + fee > market.cash[i]:
            refused(response, 409, "insufficient_funds")
        elif side == "sell" and quantity > market.held[i, ticker]:
            refused(response, 409, "insufficient_shares")
        else:
            assert response.status_code == 201, response.content
            market.cash[i] += -(total + fee) if side == "buy" else total - fee
            market.held[i, ticker] += quantity if side == "buy" else -quantity
            filled = response.json()
            assert filled["transaction"]["price"] == str(price)
            assert (Decimal(filled["transaction"]["total"]), Decimal(filled["transaction"]["fee"])) == (total, fee)
            assert filled["transaction"]["day"] == market.day
            assert Decimal(filled["portfolio"]["cash"]) == market.cash[i]
            assert Decimal(filled["portfolio"]["total_value"]) == market.value(i)
    elif kind == "price":
        ticker, price = args
        response = set_price(admin_api, companies[ticker], price)
        assert response.status_code == 200, response.content
        assert response.json()["price"] == str(price)
        market.prices[ticker] = price
    elif kind == "open":
        response = admin_api.post("/api/admin/market/open")
        if market.is_open:
            refused(response, 409, "market_already_open")
        else:
            market.is_open, market.day = True, market.day + 1
            assert (response.status_code, response.json()["day"]) == (200, market.day)
    elif kind == "close":
        response = admin_api.post("/api/admin/market/close")
        if not market.is_open:
            refused(response, 409, "market_already_closed")
        else:
            assert (response.status_code, response.json()["status"]) == (200, "closed")
            market.is_open = False
            for i, name in enumerate(TEAM_NAMES):
                market.kept[name, market.day] = (market.cash[i], market.value(i))
    else:
        i, amount = args
        response = adjust_cash(admin_api, teams[i], amount)
        if market.cash[i] + amount < 0:
            refused(response, 409, "insufficient_funds")
        else:
            assert response.status_code == 200, response.content
            market.cash[i] += amount
            assert Decimal(response.json()["cash"]) == market.cash[i]


@settings(
    max_examples=25,
    deadline=None,
    database=None,  # write nothing into the repository
    phases=[Phase.explicit, Phase.generate, Phase.shrink],  # "explain" traces coverage: minutes per failure
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operations, min_size=10, max_size=30))
def test_any_sequence_of_trades_prices_bells_and_adjustments_keeps_the_ledger_and_leaderboard_exact(
    ops, make_team, admin_api
):
    # Each example starts from an empty market and leaves nothing behind. It never commits, so the
    # read cache is not renewed by its changes: it starts empty too.
    cache.clear()
    with transaction.atomic():
        charge_fees()
        companies = {
            ticker: company_create(by=None, ticker=ticker, name=ticker.title(), current_price=price)
            for ticker, price in OPENING_PRICES.items()
        }
        teams = [make_team(name, school=f"SMA {n}", starting_cash=START) for n, name in enumerate(TEAM_NAMES, 1)]
        assert admin_api.post("/api/admin/market/open").status_code == 200
        market = Market()

        for op in ops:
            play(op, market, teams, companies, admin_api)
            # After every step, what each team is shown matches the model.
            kept_values = Participant.objects.filter(pk__in=[t.pk for t in teams]).in_bulk()
            for i, team in enumerate(teams):
                assert (kept_values[team.pk].cash, kept_values[team.pk].portfolio_value) == (
                    market.cash[i],
                    market.value(i),
                ), (op, team.display_name)

        assert_ledger_adds_up(teams)
        for i, team in enumerate(teams):
            assert team.cash == market.cash[i]
            assert kept_holdings(team) == {t: n for (j, t), n in market.held.items() if j == i and n}
            assert team.portfolio_value == market.value(i)
        kept = DailyValue.objects.values_list("participant__display_name", "day", "cash", "value")
        assert {(name, day): (cash, value) for name, day, cash, value in kept} == market.kept
        assert leaderboard(admin_api) == expected_leaderboard(teams)
        transaction.set_rollback(True)

"""Reversals under real concurrency on PostgreSQL: racing the team's own trades, or each other.

Every request runs in its own thread with its own client and database connection, released
together at a barrier; the ledger is checked from the rows afterwards.
"""

import json
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connections
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import User
from market.models import EventSettings, Holding, Transaction
from market.services import company_create, market_open, trade_execute
from market.tests.helpers import assert_ledger_holds
from market.throttles import TradeThrottle

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _no_trade_throttle(monkeypatch):
    monkeypatch.setattr(TradeThrottle, "rate", "1000000/min", raising=False)


@pytest.fixture
def organiser_token(db) -> str:
    organiser = User.objects.create_superuser(email="desk@event.test", password="organiser-password-1")
    return Token.objects.create(user=organiser).key


def post(token: str, path: str, body: dict) -> tuple[int, dict]:
    # A server error must come back as a 500 answer, not as an exception in the thread.
    api = APIClient(raise_request_exception=False)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = api.post(path, body, format="json")
    return response.status_code, json.loads(response.content) if response.content else {}


def together(jobs: list[Callable[[], tuple[int, dict]]]) -> list[tuple[int, dict]]:
    barrier = threading.Barrier(len(jobs))

    def run(job):
        try:
            barrier.wait(timeout=30)
            return job()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(run, jobs))


def test_reversals_racing_the_teams_own_trades_never_break_the_ledger(make_team, organiser_token):
    EventSettings.load()
    EventSettings.objects.filter(pk=1).update(buy_fee_rate=Decimal("0.0015"), sell_fee_rate=Decimal("0.0025"))
    acme = company_create(by=None, ticker="ACME", name="Acme", current_price=Decimal("10.00"))
    market_open(by=None)
    team = make_team("Bull Riders", starting_cash=Decimal("300.00"))
    outsider = make_team("Bear Necessities", starting_cash=Decimal("300.00"))
    bought = [trade_execute(participant=team, company=acme, side="buy", quantity=2).transaction for _ in range(12)]
    trade_execute(participant=outsider, company=acme, side="buy", quantity=5)
    team_token = Token.objects.create(user=team.user).key
    outsider_token = Token.objects.create(user=outsider.user).key

    def reverse(trade):
        return lambda: post(organiser_token, f"/api/admin/transactions/{trade.pk}/reverse", {"reason": "Bug"})

    def order(token, side, quantity):
        return lambda: post(token, "/api/transactions", {"ticker": "ACME", "type": side, "quantity": quantity})

    jobs = [reverse(trade) for trade in bought]
    jobs += [order(team_token, "sell", 3) for _ in range(8)]  # 24 shares held: the sells and reversals compete
    jobs += [order(team_token, "buy", 1) for _ in range(8)]  # and the cash the reversals give back
    jobs += [order(outsider_token, "sell", 1) for _ in range(3)]
    answers = together(jobs)

    assert {status for status, _ in answers} <= {200, 201, 409}, answers
    refusals = Counter(body["code"] for status, body in answers if status == 409)
    assert set(refusals) <= {"reversal_refused", "insufficient_shares", "insufficient_funds"}
    reversed_now = Transaction.objects.filter(participant=team, reversed_at__isnull=False).count()
    assert reversed_now == sum(1 for status, _ in answers[:12] if status == 200)
    assert reversed_now >= 1
    assert_ledger_holds(team, outsider)
    outsider.refresh_from_db()
    assert outsider.cash == Decimal("300.00") - Decimal("50.08") + 3 * (Decimal("10.00") - Decimal("0.03"))
    assert Holding.objects.get(participant=outsider).quantity == 2


def test_twenty_organisers_reversing_one_trade_at_once_reverse_it_once(make_team, organiser_token):
    acme = company_create(by=None, ticker="ACME", name="Acme", current_price=Decimal("10.00"))
    market_open(by=None)
    team = make_team("Bull Riders", starting_cash=Decimal("1000.00"))
    bought = trade_execute(participant=team, company=acme, side="buy", quantity=10).transaction
    path = f"/api/admin/transactions/{bought.pk}/reverse"

    answers = together([lambda: post(organiser_token, path, {"reason": "Duplicate"})] * 20)

    assert Counter(status for status, _ in answers) == {200: 1, 409: 19}
    assert {body["code"] for status, body in answers if status == 409} == {"reversal_refused"}
    team.refresh_from_db()
    assert (team.cash, team.trade_count) == (Decimal("1000.00"), 0)
    assert Holding.objects.get(participant=team).quantity == 0
    assert_ledger_holds(team)

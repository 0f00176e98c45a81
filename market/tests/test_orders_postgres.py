"""Orders that wait under real concurrency (PostgreSQL): a cancel racing a fill ends with exactly
one of them, round after round; fill passes running at once (as the desks of several server
processes and the scheduler do) fill each order once; market trades racing fills never spend
what an order holds."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connections

from market import services
from market.errors import OrderNotOpen
from market.models import Order, Transaction
from market.tests.helpers import assert_books

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _passes_are_the_tests_own(monkeypatch):
    """A commit here is real: keep the desk from filling before the test's own racing passes."""
    from market.services.desk import desk

    monkeypatch.setattr(desk, "once", lambda work: None)


def together(*jobs):
    """Run the jobs in threads that start at once, each with its own connection."""
    barrier = threading.Barrier(len(jobs))

    def run(job):
        try:
            barrier.wait(timeout=30)
            return job()
        except Exception as exc:  # noqa: BLE001 what each job ended with, for the test to read
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(run, jobs))


def limit_buy(team, price: str, quantity: int = 1, **extra) -> Order:
    data = {"ticker": "ACME", "type": "buy", "kind": "limit", "quantity": quantity, "price": price, **extra}
    return services.book_place(participant=team, data=data).order


def test_a_cancel_racing_a_fill_ends_with_exactly_one_of_them(make_team, make_company):
    acme = make_company("ACME", "10.00")
    services.market_open(by=None)
    team = make_team()
    outcomes = Counter()
    for _ in range(30):
        order = limit_buy(team, "9.50", quantity=2)
        acme = services.price_set(company=acme, price=Decimal("9.50"), by=None)  # due now; no pass yet

        def cancel_it(order=order):
            return services.book_cancel(order=order, participant=team)

        filled, cancel = together(services.book_fill_due, cancel_it)

        status = Order.objects.get(pk=order.pk).status
        outcomes[status] += 1
        if status == "filled":
            assert filled == 1 and isinstance(cancel, OrderNotOpen)
            assert Transaction.objects.filter(order=order).count() == 1
        else:
            assert status == "cancelled" and filled == 0 and not isinstance(cancel, Exception)
            assert not Transaction.objects.filter(order__pk=order.pk).exists()
        assert_books(team)
        acme = services.price_set(company=acme, price=Decimal("10.00"), by=None)
    assert sum(outcomes.values()) == 30


def test_fill_passes_running_at_once_fill_each_order_once(make_team, make_company):
    acme = make_company("ACME", "10.00")
    services.market_open(by=None)
    teams = [make_team() for _ in range(8)]
    for n in range(5):
        for team in teams:
            limit_buy(team, "9.00", quantity=n + 1)  # 40 orders
    services.price_set(company=acme, price=Decimal("8.75"), by=None)

    counts = together(*[services.book_fill_due] * 4)

    assert all(isinstance(count, int) for count in counts), counts
    assert sum(counts) == 40
    assert Order.objects.filter(status="filled").count() == 40
    assert Transaction.objects.filter(order__isnull=False).count() == 40
    for team in teams:
        assert_books(team)


def test_market_trades_racing_fills_never_spend_what_an_order_holds(make_team, make_company):
    acme = make_company("ACME", "10.00")
    services.market_open(by=None)
    team = make_team(starting_cash=Decimal("1000.00"))
    for _ in range(8):
        limit_buy(team, "9.00", quantity=10)  # each holds 90.00: 720.00 of 1,000.00
    services.price_set(company=acme, price=Decimal("9.00"), by=None)

    def buy():
        return services.trade_execute(participant=team, company=acme, side="buy", quantity=10)

    results = together(services.book_fill_due, *[buy] * 6)

    trades = [r for r in results[1:] if not isinstance(r, Exception)]
    refused = [r for r in results[1:] if isinstance(r, Exception)]
    assert all(getattr(r, "code", None) == "insufficient_funds" for r in refused), refused
    assert results[0] == 8  # every order filled whatever the market trades did
    assert len(trades) == 3  # 280.00 free: three buys of 90.00
    assert_books(team)


TWO_PROCESSES = """
import time, django
django.setup()
from market.services import book_fill_due
time.sleep(max(0, {start} - time.time()))
print("FILLED", book_fill_due())
"""


def test_two_server_processes_filling_at_once_fill_each_order_once(make_team, make_company):
    import subprocess
    import sys
    import time

    from django.db import connection

    from brainstorm.tests.production import ROOT, production_env

    acme = make_company("ACME", "10.00")
    services.market_open(by=None)
    teams = [make_team() for _ in range(30)]
    for n in range(10):
        for team in teams:
            limit_buy(team, "9.00", quantity=n + 1)  # 300 orders
    services.price_set(company=acme, price=Decimal("9.00"), by=None)
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    script = TWO_PROCESSES.format(start=time.time() + 4)

    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env=production_env(DATABASE_URL=url, LOG_LEVEL="CRITICAL"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]

    assert [process.returncode for process in processes] == [0, 0], [err[-2000:] for _, err in outputs]
    filled = [int(out.split("FILLED")[1]) for out, _ in outputs]
    assert sum(filled) == 300, filled
    assert Order.objects.filter(status="filled").count() == 300
    assert Transaction.objects.filter(order__isnull=False).count() == 300
    for team in teams:
        assert_books(team)

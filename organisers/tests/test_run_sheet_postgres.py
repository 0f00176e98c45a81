"""The run sheet with several processes at once, on PostgreSQL: two schedulers fire each cue once
and in order; an organiser's "fire now" racing the scheduler fires it once."""

import threading
import time
from contextlib import ExitStack
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone

from market.models import AuditEntry, Company, PricePoint, TradingDay
from market.money import money
from organisers.models import Cue
from organisers.runsheet import services
from organisers.runsheet.services import CueFired
from organisers.tests.cues import due_cue
from overlay.tests.servers import free_port, scheduler_process

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_scheduler_processes_fire_a_three_day_script_once_each_in_order(make_company):
    acme = make_company("ACME", "10.00")
    start = timezone.now() + timedelta(seconds=3)
    for day in (1, 2, 3):
        base = start + timedelta(seconds=(day - 1) * 3)
        due_cue("open", base, day=day)
        for _ in range(8):  # eight changes of 1% in the same second: fired in the order written
            due_cue("price", base + timedelta(seconds=1), day=day, ticker="ACME", change_pct="1")
        due_cue("note", base + timedelta(seconds=1), day=day, text=f"Day {day} halfway")
        due_cue("close", base + timedelta(seconds=2), day=day)

    with ExitStack() as stack:
        for _ in range(2):
            stack.enter_context(scheduler_process(metrics_port=free_port(), interval=0.05))
        deadline = time.monotonic() + 60
        while Cue.objects.filter(status="planned").exists() and time.monotonic() < deadline:
            time.sleep(0.2)

    cues = list(Cue.objects.order_by("due_at", "position"))
    assert [cue.status for cue in cues] == ["fired"] * 33, [(cue.action, cue.status, cue.reason) for cue in cues]
    assert [cue.fired_at for cue in cues] == sorted(cue.fired_at for cue in cues), [
        (cue.action, cue.due_at.time(), cue.fired_at.time(), cue.position) for cue in cues
    ]
    assert AuditEntry.objects.filter(action="cue_fire").count() == 33
    assert AuditEntry.objects.filter(action="market_open").count() == 3
    assert list(TradingDay.objects.order_by("number").values_list("number", flat=True)) == [1, 2, 3]
    assert all(day.closed_at for day in TradingDay.objects.all())
    expected = Decimal("10.00")
    for _ in range(24):
        expected = money(expected * Decimal("1.01"))
    assert Company.objects.get(pk=acme.pk).current_price == expected
    assert PricePoint.objects.filter(company=acme).count() == 1 + 24  # its listing, then each cue once


def test_fire_now_racing_the_scheduler_fires_once(make_company, admin_user):
    from organisers.scheduler import run_due

    make_company("ACME", "10.00")
    cues = [due_cue("price", timezone.now(), ticker="ACME", change_pct="10") for _ in range(10)]
    barrier = threading.Barrier(2)
    refused = []

    def by_hand():
        try:
            barrier.wait()
            for cue in cues:
                try:
                    services.cue_fire(cue=cue, by=admin_user)
                except CueFired:
                    refused.append(cue.pk)
        finally:
            connections.close_all()

    def scheduler():
        try:
            barrier.wait()
            run_due()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=by_hand), threading.Thread(target=scheduler)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert Cue.objects.filter(status="fired").count() == 10
    assert AuditEntry.objects.filter(action="price_set").count() == 10
    by_scheduler = AuditEntry.objects.filter(action="cue_fire", actor=None).count()
    assert by_scheduler == len(refused)  # each one the organiser was refused, the scheduler fired
    expected = Decimal("10.00")
    for _ in range(10):
        expected = money(expected * Decimal("1.1"))
    assert Company.objects.get(ticker="ACME").current_price == expected

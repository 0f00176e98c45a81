"""The scheduler fires the run sheet's cues (bells, news, prices, notes) and news when due, once each."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from market.models import AuditEntry, TradingDay
from newsroom.models import News
from newsroom.services import news_create
from organisers.models import Cue
from organisers.scheduler import run_due
from organisers.tests.cues import due_cue as cue

pytestmark = pytest.mark.django_db


def test_news_goes_out_when_its_time_comes_and_only_once(django_capture_on_commit_callbacks):
    now = timezone.now()
    item = news_create(by=None, title="Results", content="x", published_at=now + timedelta(minutes=5))
    assert run_due(now) == []  # not yet

    with django_capture_on_commit_callbacks() as callbacks:
        fired = run_due(now + timedelta(minutes=5))

    assert fired == ["news 'Results'"]
    assert len(callbacks) == 2  # the feed's cached reads renewed, then the news event
    item.refresh_from_db()
    assert item.announced_at == now + timedelta(minutes=5)
    assert run_due(now + timedelta(minutes=6)) == []


def test_news_published_at_once_is_not_announced_again_by_the_scheduler():
    news_create(by=None, title="Now", content="x", published_at=timezone.now())
    assert run_due(timezone.now() + timedelta(seconds=1)) == []


def test_drafts_are_never_announced():
    news_create(by=None, title="Draft", content="x")
    assert run_due(timezone.now() + timedelta(days=365)) == []
    assert News.objects.get().announced_at is None


def test_a_day_opens_and_closes_on_its_cues():
    now = timezone.now()
    opening, closing = cue("open", now), cue("close", now + timedelta(hours=1))

    assert run_due(now - timedelta(seconds=1)) == []
    assert run_due(now) == [f"cue open (day 1, {opening.at}): fired"]
    assert TradingDay.objects.get().is_open
    assert run_due(now + timedelta(minutes=30)) == []
    assert run_due(now + timedelta(hours=1)) == [f"cue close (day 1, {closing.at}): fired"]
    assert TradingDay.objects.get().closed_at is not None
    assert run_due(now + timedelta(hours=2)) == []
    assert AuditEntry.objects.filter(action="cue_fire", actor=None).count() == 2


def test_a_close_cue_never_closes_a_later_day():
    now = timezone.now()
    TradingDay.objects.create(number=1, opened_at=now - timedelta(hours=3), closed_at=now - timedelta(hours=2))
    TradingDay.objects.create(number=2, opened_at=now - timedelta(minutes=1))
    stale = cue("close", now - timedelta(hours=2))

    run_due(now)

    assert TradingDay.objects.get(number=2).is_open
    stale.refresh_from_db()
    assert (stale.status, stale.reason) == ("skipped", stale.reason)
    assert stale.reason.startswith("Day 1 had already closed")


def test_a_day_whose_whole_session_passed_while_down_is_not_opened_and_says_why():
    now = timezone.now()
    opening = cue("open", now - timedelta(hours=3))
    closing = cue("close", now - timedelta(hours=1))

    run_due(now)

    opening.refresh_from_db()
    closing.refresh_from_db()
    assert not TradingDay.objects.filter(opened_at__isnull=False).exists()
    assert opening.status == "failed" and "whole session had passed" in opening.reason
    assert closing.status == "failed" and closing.reason == "No trading day is open."


def test_a_price_cue_applies_once(company, make_team):
    now = timezone.now()
    cue("price", now + timedelta(minutes=1), ticker="ACME", price="14.00")

    assert run_due(now) == []
    assert len(run_due(now + timedelta(minutes=1))) == 1
    assert run_due(now + timedelta(minutes=2)) == []

    company.refresh_from_db()
    assert company.current_price == Decimal("14.00")
    fired = Cue.objects.get()
    assert (fired.status, fired.result) == ("fired", {"ticker": "ACME", "old_price": "10.00", "price": "14.00"})
    assert AuditEntry.objects.filter(action="price_set").count() == 1


def test_a_late_scheduler_fires_what_it_missed_in_order_with_its_delay(company):
    now = timezone.now()
    cues = [
        cue("price", now - timedelta(minutes=30), ticker="ACME", change_pct="10"),
        cue("note", now - timedelta(minutes=20), text="Thank the sponsors"),
        cue("price", now - timedelta(minutes=10), ticker="ACME", price="20.00"),
    ]

    run_due(now)

    done = [Cue.objects.get(pk=item.pk) for item in cues]
    assert [item.status for item in done] == ["fired"] * 3
    assert [item.fired_at for item in done] == sorted(item.fired_at for item in done)
    assert [round(item.late_by.total_seconds() / 60) for item in done] == [30, 20, 10]
    company.refresh_from_db()
    assert company.current_price == Decimal("20.00")  # 10.00 +10% = 11.00, then 20.00: in order
    history = list(company.history.order_by("at").values_list("price", flat=True))
    assert history[-2:] == [Decimal("11.00"), Decimal("20.00")]


def test_a_restarted_scheduler_fires_nothing_twice(company):
    now = timezone.now()
    cue("price", now - timedelta(seconds=5), ticker="ACME", change_pct="10")
    assert len(run_due(now)) == 1

    assert run_due(now + timedelta(seconds=1)) == []  # a new process, the same table
    company.refresh_from_db()
    assert company.current_price == Decimal("11.00")


def test_a_cue_that_can_no_longer_apply_fails_with_why_and_the_rest_go_on(company):
    now = timezone.now()
    gone = cue("price", now - timedelta(seconds=2), ticker="GONE", price="5.00")
    fine = cue("price", now - timedelta(seconds=1), ticker="ACME", price="12.00")

    run_due(now)

    gone.refresh_from_db()
    fine.refresh_from_db()
    assert (gone.status, gone.reason) == ("failed", "No company has the ticker GONE any more.")
    assert fine.status == "fired"


def test_a_held_run_sheet_fires_nothing_by_itself(company, admin_user):
    from organisers.runsheet.services import run_sheet_hold

    now = timezone.now()
    cue("price", now - timedelta(seconds=1), ticker="ACME", price="12.00")
    run_sheet_hold(by=admin_user)

    assert run_due(now) == []
    company.refresh_from_db()
    assert company.current_price == Decimal("10.00")


def test_run_scheduler_once_from_the_command_line(company):
    cue("price", timezone.now(), ticker="ACME", price="9.00")
    out = StringIO()
    call_command("run_scheduler", "--once", stdout=out)
    assert "fired: cue price (day 1, " in out.getvalue() and "): fired" in out.getvalue()


def test_open_day_and_close_day_commands_ring_the_bells():
    out = StringIO()
    call_command("open_day", stdout=out)
    assert TradingDay.objects.get().is_open
    call_command("close_day", stdout=out)
    assert not TradingDay.objects.get().is_open
    assert "Day 1 is open." in out.getvalue() and "Day 1 is closed." in out.getvalue()


def test_close_day_when_closed_says_so():
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="No trading day is open"):
        call_command("close_day", stdout=StringIO())


@pytest.mark.postgres  # SQLite does not enforce NUMERIC precision
def test_a_price_the_database_refuses_fails_its_cue_and_not_the_tick(company, make_team, open_market):
    from market.services import market_close, trade_execute

    rich = make_team("Rich", starting_cash=Decimal("200000.00"))
    trade_execute(participant=rich, company=company, side="buy", quantity=15_000)
    market_close(by=None)
    now = timezone.now()
    refused = cue("price", now - timedelta(seconds=1), ticker="ACME", price="999999999999.99")  # value overflows
    cue("open", now, day=2)

    fired = run_due(now)

    assert len(fired) == 2 and fired[1].endswith(": fired")
    company.refresh_from_db()
    assert company.current_price == Decimal("10.00")
    refused.refresh_from_db()
    assert refused.status == "failed"
    assert TradingDay.objects.get(number=2).is_open


def test_opening_by_hand_never_opens_a_day_that_was_skipped():
    now = timezone.now()
    TradingDay.objects.create(
        number=1, scheduled_open_at=now - timedelta(hours=5), scheduled_close_at=now - timedelta(hours=4)
    )
    TradingDay.objects.create(number=2, opened_at=now - timedelta(hours=2), closed_at=now - timedelta(hours=1))
    from market.services import market_open

    day = market_open(by=None)

    assert day.number == 3
    assert not TradingDay.objects.get(number=1).is_open


def test_the_scheduler_lag_is_the_oldest_cue_still_due():
    from common.metrics import scheduler_lag

    now = timezone.now()
    cue("note", now - timedelta(minutes=1), text="Late")
    cue("note", now + timedelta(minutes=1), text="Not yet")

    assert scheduler_lag(now) == pytest.approx(60, abs=1)
    run_due(now)
    assert scheduler_lag(now) == 0


def test_an_open_cue_for_a_day_opened_by_hand_is_skipped_and_its_offsets_follow_the_bell(company):
    from market.services import market_open

    now = timezone.now()
    opening = cue("open", now + timedelta(hours=1))
    later = Cue.objects.create(day=1, at="+00:10:00", action="price", data={"ticker": "ACME", "price": "12.00"})
    day = market_open(by=None)  # the organiser rang early

    run_due(now + timedelta(hours=1))

    opening.refresh_from_db()
    later.refresh_from_db()
    assert opening.status == "skipped" and opening.reason.startswith("Day 1 had already opened")
    assert later.due_at == day.opened_at + timedelta(minutes=10)  # ten minutes after the bell, as rung
    assert later.status == "fired"


def test_opening_a_prepared_day_after_its_close_time_drops_the_stale_close():
    from market.services import market_open

    now = timezone.now()
    TradingDay.objects.create(number=1, scheduled_close_at=now - timedelta(minutes=1))
    day = market_open(by=None)
    assert day.number == 1 and day.scheduled_close_at is None
    assert run_due(now + timedelta(seconds=1)) == []
    assert TradingDay.objects.get().is_open

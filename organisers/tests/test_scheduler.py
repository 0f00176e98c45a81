"""The scheduler fires news, bells and price changes when due, once each."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from market.models import AuditEntry, ScheduledPrice, TradingDay
from newsroom.models import News
from newsroom.services import news_create
from organisers.scheduler import run_due

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


def test_a_scheduled_day_opens_and_closes_on_time():
    now = timezone.now()
    TradingDay.objects.create(number=1, scheduled_open_at=now, scheduled_close_at=now + timedelta(hours=1))

    assert run_due(now - timedelta(seconds=1)) == []
    assert run_due(now) == ["open day 1"]
    assert TradingDay.objects.get().is_open
    assert run_due(now + timedelta(minutes=30)) == []
    assert run_due(now + timedelta(hours=1)) == ["close day 1"]
    day = TradingDay.objects.get()
    assert day.closed_at == now + timedelta(hours=1)
    assert run_due(now + timedelta(hours=2)) == []


def test_a_scheduled_close_never_closes_a_later_day():
    now = timezone.now()
    TradingDay.objects.create(
        number=1,
        opened_at=now - timedelta(hours=3),
        closed_at=now - timedelta(hours=2),
        scheduled_close_at=now - timedelta(hours=2),
    )
    TradingDay.objects.create(number=2, opened_at=now - timedelta(minutes=1))
    assert run_due(now) == []
    assert TradingDay.objects.get(number=2).is_open


def test_a_day_whose_whole_session_passed_while_down_is_not_opened():
    now = timezone.now()
    TradingDay.objects.create(
        number=1, scheduled_open_at=now - timedelta(hours=3), scheduled_close_at=now - timedelta(hours=1)
    )
    assert run_due(now) == []
    assert not TradingDay.objects.get().is_open


def test_a_scheduled_price_applies_once(company, make_team, django_capture_on_commit_callbacks):
    now = timezone.now()
    ScheduledPrice.objects.create(company=company, price=Decimal("14.00"), at=now + timedelta(minutes=1))

    assert run_due(now) == []
    assert run_due(now + timedelta(minutes=1)) == ["price ACME 14.00"]
    assert run_due(now + timedelta(minutes=2)) == []

    company.refresh_from_db()
    assert company.current_price == Decimal("14.00")
    assert ScheduledPrice.objects.get().applied_at == now + timedelta(minutes=1)
    assert AuditEntry.objects.filter(action="price_set").count() == 1


def test_run_scheduler_once_from_the_command_line(company):
    ScheduledPrice.objects.create(company=company, price=Decimal("9.00"), at=timezone.now())
    out = StringIO()
    call_command("run_scheduler", "--once", stdout=out)
    assert "fired: price ACME 9.00" in out.getvalue()


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
def test_a_price_the_database_refuses_does_not_hold_back_the_rest_of_the_tick(company, make_team, open_market):
    from market.services import market_close, trade_execute

    rich = make_team("Rich", starting_cash=Decimal("200000.00"))
    trade_execute(participant=rich, company=company, side="buy", quantity=15_000)
    market_close(by=None)
    now = timezone.now()
    ScheduledPrice.objects.create(company=company, price=Decimal("999999999999.99"), at=now)  # value overflows
    TradingDay.objects.create(number=2, scheduled_open_at=now)

    fired = run_due(now)

    assert fired == ["open day 2"]
    company.refresh_from_db()
    assert company.current_price == Decimal("10.00")
    assert ScheduledPrice.objects.get().applied_at is None


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


def test_a_day_skipped_by_hand_does_not_hold_back_the_next_scheduled_day():
    from common.metrics import scheduler_lag
    from market.services import market_close, market_open

    now = timezone.now()
    TradingDay.objects.create(number=1, scheduled_open_at=now - timedelta(hours=3))  # no close time
    TradingDay.objects.create(number=2)
    TradingDay.objects.create(number=3, scheduled_open_at=now - timedelta(minutes=1))
    market_open(by=None, day_number=2, now=now - timedelta(hours=2))  # the organiser went straight to day 2
    market_close(by=None, now=now - timedelta(hours=1))

    assert scheduler_lag(now) == pytest.approx(60, abs=1)  # day 3, not day 1 (three hours ago)
    assert run_due(now) == ["open day 3"]
    assert scheduler_lag(now) == 0
    assert TradingDay.objects.get(number=1).opened_at is None


def test_a_day_left_open_past_the_next_days_open_time_holds_it_until_it_closes():
    from common.metrics import scheduler_lag
    from market.services import market_close, market_open

    now = timezone.now()
    TradingDay.objects.create(number=1)  # opened by hand, no close time
    TradingDay.objects.create(number=2, scheduled_open_at=now - timedelta(minutes=10))
    market_open(by=None, now=now - timedelta(hours=1))

    assert run_due(now) == []
    assert scheduler_lag(now) == 0  # nothing the scheduler could do: the organiser's day is open
    market_close(by=None, now=now)
    assert run_due(now + timedelta(seconds=1)) == ["open day 2"]


def test_opening_a_prepared_day_after_its_close_time_drops_the_stale_close():
    from market.services import market_open

    now = timezone.now()
    TradingDay.objects.create(number=1, scheduled_close_at=now - timedelta(minutes=1))
    day = market_open(by=None)
    assert day.number == 1 and day.scheduled_close_at is None
    assert run_due(now + timedelta(seconds=1)) == []
    assert TradingDay.objects.get().is_open

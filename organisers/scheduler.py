"""Fires what organisers scheduled: news releases, day opens and closes, price changes; and
fills the waiting orders they made due (each process fills them after its own changes; this
pass catches what a stopped process left).

Each item fires exactly once, even with two schedulers running: every firing is a database
transaction that claims its rows (row locks, SKIP LOCKED on PostgreSQL; SQLite serialises all
writers) and marks them done in the same commit. Items that fell due while no scheduler ran
fire on the next tick, in time order.
"""

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from market.errors import MarketAlreadyClosed, MarketAlreadyOpen
from market.models import ScheduledPrice, TradingDay
from market.services import book_fill_due, current_day_number, market_close, market_open, open_day, price_set
from newsroom.models import News
from newsroom.services import news_announce_due

logger = logging.getLogger(__name__)


def _days_to_close(now: datetime) -> QuerySet[TradingDay]:
    return TradingDay.objects.filter(opened_at__isnull=False, closed_at__isnull=True, scheduled_close_at__lte=now)


def _days_to_open(now: datetime) -> QuerySet[TradingDay]:
    """Unopened days whose open time has come, numbered after the last day that opened, while no
    day is open (the bell rings once that one closes). An earlier day was skipped (an organiser
    opened a later one, or its whole session passed while no scheduler ran) and never opens late;
    it must not hold back the days after it either."""
    if open_day() is not None:
        return TradingDay.objects.none()
    last_opened = current_day_number() or 0
    return TradingDay.objects.filter(
        opened_at__isnull=True, scheduled_open_at__lte=now, number__gt=last_opened
    ).exclude(scheduled_close_at__lte=now)  # its whole session passed while we were away


def _prices_due(now: datetime) -> QuerySet[ScheduledPrice]:
    return ScheduledPrice.objects.filter(applied_at__isnull=True, at__lte=now)


def due_since(now: datetime) -> datetime | None:
    """When the oldest item that is due and has not fired (a bell, a price change, news) fell due;
    None if nothing waits. How late the scheduler is, for the on-call's dashboard."""
    times = [
        _days_to_close(now).order_by("scheduled_close_at").values_list("scheduled_close_at", flat=True).first(),
        _days_to_open(now).order_by("scheduled_open_at").values_list("scheduled_open_at", flat=True).first(),
        _prices_due(now).order_by("at").values_list("at", flat=True).first(),
        News.objects.filter(announced_at__isnull=True, published_at__lte=now)
        .order_by("published_at")
        .values_list("published_at", flat=True)
        .first(),
    ]
    return min((time for time in times if time is not None), default=None)


def _close_due_day(now: datetime) -> list[str]:
    day = _days_to_close(now).first()
    if day is None:
        return []
    try:
        market_close(by=None, day_number=day.number, now=now)
    except MarketAlreadyClosed:
        return []  # another scheduler (or an organiser) got there first
    return [f"close day {day.number}"]


def _open_due_day(now: datetime) -> list[str]:
    day = _days_to_open(now).order_by("number").first()
    if day is None:
        return []
    try:
        market_open(by=None, day_number=day.number, now=now)
    except MarketAlreadyOpen:
        return []
    return [f"open day {day.number}"]


def _apply_next_due_price(now: datetime) -> str | None:
    """Claim and apply one due price change. One transaction each: a price change locks its
    company, then the holders; two companies in one transaction could deadlock with a trade."""
    with transaction.atomic():
        item = (
            _prices_due(now)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("company")
            .order_by("at", "pk")
            .first()
        )
        if item is None:
            return None
        price_set(company=item.company, price=item.price, by=item.created_by, now=now)
        ScheduledPrice.objects.filter(pk=item.pk).update(applied_at=now)
        return f"price {item.company.ticker} {item.price}"


def _apply_due_prices(now: datetime) -> list[str]:
    fired = []
    while (item := _apply_next_due_price(now)) is not None:
        fired.append(item)
    return fired


def _announce_due_news(now: datetime) -> list[str]:
    return [f"news {news.title!r}" for news in news_announce_due(now=now)]


def _fill_due_orders(now: datetime) -> list[str]:
    filled = book_fill_due()
    return [f"{filled} waiting orders filled"] if filled else []


STEPS = (_close_due_day, _announce_due_news, _apply_due_prices, _open_due_day, _fill_due_orders)


def run_due(now: datetime | None = None) -> list[str]:
    """One tick: fire everything due at `now`. Returns what fired, for the log.

    Each step stands alone: one that fails (a price the database refuses, say) is logged and
    retried next tick, and does not hold back the others.
    """
    now = now or timezone.now()
    fired = []
    for step in STEPS:
        try:
            fired += step(now)
        except Exception:  # logged with its traceback; the next tick tries again
            logger.exception("scheduler step %s failed", step.__name__)
    return fired

"""The bells: a trading day opens and closes."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from common.logs import activity
from common.read_cache import reads_changed
from market import events
from market.errors import MarketAlreadyClosed, MarketAlreadyOpen
from market.models import Company, DailyValue, Participant, TradingDay
from market.services import locks
from market.services.audit import audit
from market.services.book import book_expire_day
from market.services.fills import fills_after_commit
from overlay.events import broadcast


def open_day() -> TradingDay | None:
    return TradingDay.objects.filter(opened_at__isnull=False, closed_at__isnull=True).first()


def current_day_number() -> int | None:
    """The open day, else the last day that opened: the day a price change belongs to."""
    day = TradingDay.objects.filter(opened_at__isnull=False).order_by("-number").first()
    return day.number if day else None


def market_open(*, by: User | None, day_number: int | None = None, now: datetime | None = None) -> TradingDay:
    """Ring the start bell: the next trading day (or day `day_number`, if still unopened) opens."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            locks.bell()
            if open_day() is not None:
                raise MarketAlreadyOpen("Day is already open.")
            # Days open in order: a prepared day numbered below one that already opened was
            # skipped (its whole session passed) and is never opened late.
            last_opened = current_day_number() or 0
            unopened = TradingDay.objects.filter(opened_at__isnull=True, number__gt=last_opened).order_by("number")
            if day_number is not None:
                unopened = unopened.filter(number=day_number)
            day = unopened.first()
            if day is None:
                if day_number is not None:
                    raise MarketAlreadyOpen(f"Day {day_number} can no longer open.")
                last = TradingDay.objects.order_by("-number").values_list("number", flat=True).first() or 0
                day = TradingDay(number=last + 1)
            if day.scheduled_close_at is not None and day.scheduled_close_at <= now:
                day.scheduled_close_at = None  # a close time already past would end the day at once
            day.opened_at = now
            day.save()
            audit(by=by, action="market_open", target=f"day:{day.number}")
            reads_changed("market", "companies")  # a company's chart starts the day
            activity("bell", f"day {day.number} opened", action="start_day", day=day.number, by_user_id=by and by.pk)
            broadcast("bell", {"action": "start_day", "day": day.number, "market": events.market()})
            fills_after_commit()  # orders placed while the market was closed may be due
    except IntegrityError as exc:  # a concurrent bell on a database without row locks
        raise MarketAlreadyOpen("Day is already open.") from exc
    return day


@transaction.atomic
def market_close(*, by: User | None, day_number: int | None = None, now: datetime | None = None) -> TradingDay:
    """Ring the end bell: the day closes, closes become previous prices, each team's value is kept.

    With `day_number`, only that day is closed (a scheduled close never closes a later day).
    """
    now = now or timezone.now()
    locks.bell()
    locks.bell_after_trades()  # waits for trades under way
    day = TradingDay.objects.select_for_update().filter(opened_at__isnull=False, closed_at__isnull=True).first()
    if day is None or (day_number is not None and day.number != day_number):
        raise MarketAlreadyClosed("No trading day is open." if day is None else f"Day {day_number} is not open.")
    # Trades under way held the bell shared: taking it waited for them, so the bell rings now,
    # after the last of them.
    day.closed_at = max(now, timezone.now(), day.opened_at)
    day.save(update_fields=["closed_at"])
    Company.objects.update(previous_price=F("current_price"))
    book_expire_day(now=day.closed_at)
    DailyValue.objects.bulk_create(
        [
            DailyValue(participant_id=pk, day=day.number, cash=cash, value=value, at=day.closed_at)
            for pk, cash, value in Participant.objects.values_list("pk", "cash", "portfolio_value")
        ],
        batch_size=1000,
    )
    audit(by=by, action="market_close", target=f"day:{day.number}")
    reads_changed("market", "companies")  # closes became previous prices
    activity("bell", f"day {day.number} closed", action="end_day", day=day.number, by_user_id=by and by.pk)
    companies = [events.company(company) for company in Company.objects.order_by("ticker")]
    broadcast("bell", {"action": "end_day", "day": day.number, "market": events.market(), "companies": companies})
    return day

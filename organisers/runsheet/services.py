"""The run sheet's changes (SPEC §6b): cues written, fired, skipped; the sheet held and resumed;
the last price cue undone.

Firing goes through the services a person would use (the bell, `price_set`, `news_create`), so
a cue leaves the same history, audit entries, live events and triggered orders. Every firing
takes the run sheet's row first: two schedulers, or a scheduler and an organiser's "fire now",
fire one cue at a time, in order, each exactly once (the cue is marked in the same commit).

The lock order: the run sheet's row → a cue → then the market's own (market/services/locks.py).
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from common.problems import DomainError, InvalidInput
from market import services as market
from market.errors import MarketAlreadyClosed, MarketAlreadyOpen
from market.models import Company, TradingDay
from market.money import money
from newsroom.models import News
from newsroom.services import news_create, news_update
from organisers.director.services import scene_take
from organisers.models import Cue, CueAction, CueStatus, RunSheet
from organisers.runsheet import live
from organisers.runsheet.rules import Proposed, companies_by_ticker, place, planned_cues, propose
from organisers.runsheet.times import parse_at

logger = logging.getLogger(__name__)


class CueFired(DomainError):
    code = "cue_fired"
    title = "Cue already done"


class NothingToUndo(DomainError):
    code = "nothing_to_undo"
    title = "Nothing to undo"


class _Outcome(Exception):
    """A cue that cannot apply: it ends `status` (failed or skipped) with this reason."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _cannot(reason: str) -> _Outcome:
    return _Outcome(CueStatus.FAILED, reason)


# Writing the script -------------------------------------------------------------------------------


def _raw_of(cue: Cue) -> dict:
    return {"day": cue.day, "at": cue.at, "action": cue.action, **cue.data}


def _checked(raw: dict, *, keep: list[Cue], shifted_by: timedelta | None = None) -> Proposed:
    proposed = propose(raw, companies_by_ticker())
    proposed.shifted_by = shifted_by or timedelta(0)
    if not proposed.errors:
        place([proposed], keep=keep)
    if proposed.errors:
        raise InvalidInput("The cue has errors.", errors=proposed.errors)
    return proposed


def _next_position() -> int:
    return (Cue.objects.aggregate(last=Max("position"))["last"] or 0) + 1


@transaction.atomic
def cue_create(*, by: User | None, raw: dict) -> Cue:
    """A new planned cue from `raw` (`day`, `at`, `action` and the action's fields)."""
    run_sheet_lock()
    proposed = _checked(raw, keep=planned_cues())
    cue = Cue.objects.create(
        day=proposed.day,
        at=proposed.at.text,
        due_at=proposed.due_at,
        action=proposed.action,
        data=proposed.data,
        position=_next_position(),
        created_by=by,
    )
    _after_change({cue.day}, by=by, action="cue_create", cue=cue)
    return cue


@transaction.atomic
def cue_update(*, cue: Cue, by: User | None, changes: dict) -> Cue:
    """Change a planned cue: the fields given replace its own; a new action drops the old data."""
    run_sheet_lock()
    cue = Cue.objects.select_for_update().get(pk=cue.pk)
    _refuse_done(cue)
    old = _raw_of(cue)
    new_action = changes.get("action") not in (None, cue.action)
    raw = {"day": cue.day, "at": cue.at, "action": cue.action} if new_action else dict(old)
    raw.update(changes)
    # A time typed anew is meant as written; a cue edited otherwise keeps what a hold moved it by.
    keeps_shift = str(raw.get("day")) == str(cue.day) and str(raw.get("at", "")).strip() == cue.at
    proposed = _checked(raw, keep=planned_cues(except_ids={cue.pk}), shifted_by=cue.shifted_by if keeps_shift else None)
    days = {cue.day, proposed.day}
    cue.day, cue.at, cue.action, cue.data = proposed.day, proposed.at.text, proposed.action, proposed.data
    cue.due_at, cue.shifted_by = proposed.due_at, proposed.shifted_by
    if cue.news_id and cue.action != CueAction.NEWS:
        cue.news = None  # no longer the news item's cue: the item stays a draft
    cue.save()
    _after_change(days, by=by, action="cue_update", cue=cue, old=old)
    return cue


@transaction.atomic
def cue_delete(*, cue: Cue, by: User | None) -> None:
    run_sheet_lock()
    cue = Cue.objects.select_for_update().get(pk=cue.pk)
    _refuse_done(cue)
    old, pk = _raw_of(cue), cue.pk
    cue.delete()  # a scheduled news item's cue: the item stays, as a draft
    cue.pk = pk  # named in the audit entry
    _after_change({cue.day}, by=by, action="cue_delete", cue=cue, old=old)


@transaction.atomic
def cues_replace(*, by: User | None, proposed: list[Proposed]) -> list[Cue]:
    """An imported run sheet: the planned cues of the days it names give way to its rows (the
    cues already fired, skipped or failed stay, as the record). The rows were checked (rules)."""
    run_sheet_lock()
    days = {cue.day for cue in proposed}
    giving_way = Cue.objects.filter(status=CueStatus.PLANNED, day__in=days)
    # A news item waiting for a cue that gives way keeps waiting for the row with its title.
    items = {cue.data.get("title"): cue.news_id for cue in giving_way.filter(news__isnull=False)}
    replaced = giving_way.delete()[0]
    position = _next_position()
    cues = Cue.objects.bulk_create(
        [
            Cue(
                day=cue.day,
                at=cue.at.text,
                due_at=cue.due_at,
                action=cue.action,
                data=cue.data,
                position=position + index,
                news_id=items.pop(cue.data.get("title"), None) if cue.action == CueAction.NEWS else None,
                created_by=by,
            )
            for index, cue in enumerate(proposed)
        ]
    )
    _days_sync(days)
    market.audit(
        by=by, action="run_sheet_import", target="run_sheet", created=len(cues), replaced=replaced, days=sorted(days)
    )
    live.announce()
    return cues


def _refuse_done(cue: Cue) -> None:
    if cue.status != CueStatus.PLANNED:
        raise CueFired(f"This cue is {cue.status}: only a planned cue can change.", status_of_cue=cue.status)


def _after_change(days: set[int], *, by: User | None, action: str, cue: Cue, old: dict | None = None) -> None:
    _days_replace(days)
    _days_sync(days)
    data = {"old": old} if old is not None else {}
    market.audit(by=by, action=action, target=f"cue:{cue.pk}", cue=_raw_of(cue), **data)
    live.announce()


def _days_replace(days: set[int], *, now: datetime | None = None) -> None:
    """Work out again the time of each planned cue of `days` written as a clock time or an offset
    (its day's open or bell may have moved)."""
    now = now or timezone.now()
    opens = {
        cue.day: cue.due_at - cue.shifted_by
        for cue in Cue.objects.filter(day__in=days, action=CueAction.OPEN, status=CueStatus.PLANNED)
        if cue.due_at
    }
    trading_days = {day.number: day for day in TradingDay.objects.filter(number__in=days)}
    changed = []
    for cue in Cue.objects.filter(day__in=days, status=CueStatus.PLANNED).exclude(action=CueAction.OPEN):
        at = parse_at(cue.at)
        day = trading_days.get(cue.day)
        day_opens_at = opens.get(cue.day) or (day.scheduled_open_at if day else None)
        base = at.resolve(day_opens_at=day_opens_at, bell_at=day.opened_at if day else None, now=now)
        due_at = base + cue.shifted_by if base else None
        if due_at != cue.due_at:
            cue.due_at = due_at
            changed.append(cue)
    Cue.objects.bulk_update(changed, ["due_at"])


def _days_sync(days: set[int]) -> None:
    """The trading days' scheduled open and close are those of their planned open and close cues
    (what the market's `closes_at` and the countdowns show)."""
    for number in sorted(days):
        planned = {
            cue.action: cue.due_at
            for cue in Cue.objects.filter(
                day=number, status=CueStatus.PLANNED, action__in=[CueAction.OPEN, CueAction.CLOSE]
            ).order_by("position")
        }
        day = TradingDay.objects.filter(number=number).first()
        if day is None:
            if not planned:
                continue
            day = TradingDay(number=number)
        open_at = planned.get(CueAction.OPEN, day.scheduled_open_at if day.opened_at else None)
        close_at = planned.get(CueAction.CLOSE, day.scheduled_close_at if day.closed_at else None)
        if open_at and close_at and close_at <= open_at:
            open_at = None  # the bell rang early, by hand, and the close follows it: no open to show
        if day.opened_at and not day.closed_at and close_at and close_at <= day.opened_at:
            close_at = None  # opened by hand after its close time: it closes by hand (its cue is skipped)
        if day.pk is None:
            day.scheduled_open_at, day.scheduled_close_at = open_at, close_at
            day.save()
        elif (day.scheduled_open_at, day.scheduled_close_at) != (open_at, close_at):
            # These two columns only: a bell rung meanwhile keeps its own.
            TradingDay.objects.filter(pk=day.pk).update(scheduled_open_at=open_at, scheduled_close_at=close_at)


def cues_place_offsets(*, now: datetime | None = None) -> int:
    """Offsets whose day's start bell has rung (by a cue, a person or the API) get their time."""
    waiting = Cue.objects.filter(status=CueStatus.PLANNED, due_at__isnull=True)
    days = set(waiting.values_list("day", flat=True))
    opened = set(TradingDay.objects.filter(number__in=days, opened_at__isnull=False).values_list("number", flat=True))
    if opened:
        _days_replace(opened, now=now)
        _days_sync(opened)  # a close written as an offset: the market's closing time is known now
        live.announce()
    return len(opened)


# Firing -------------------------------------------------------------------------------------------


def _open(cue: Cue, *, by: User | None, now: datetime) -> dict:
    day, _ = TradingDay.objects.get_or_create(number=cue.day)
    if day.opened_at is not None:
        raise _Outcome(
            CueStatus.SKIPPED, f"Day {cue.day} had already opened, at {timezone.localtime(day.opened_at):%H:%M:%S}."
        )
    close = Cue.objects.filter(day=cue.day, action=CueAction.CLOSE, status=CueStatus.PLANNED, due_at__lte=now).first()
    if close is not None:
        raise _cannot(
            f"Day {cue.day}'s whole session had passed "
            f"(it was to close at {timezone.localtime(close.due_at):%H:%M:%S})."
        )
    still_open = market.open_day()
    if still_open is not None:
        raise _cannot(f"Day {still_open.number} was still open: close it, then ring the start bell by hand.")
    try:
        day = market.market_open(by=by, day_number=cue.day, now=now)
    except MarketAlreadyOpen as exc:
        raise _cannot(exc.detail) from exc
    return {"day": day.number}


def _close(cue: Cue, *, by: User | None, now: datetime) -> dict:
    day = TradingDay.objects.filter(number=cue.day).first()
    if day is not None and day.closed_at is not None:
        raise _Outcome(
            CueStatus.SKIPPED, f"Day {cue.day} had already closed, at {timezone.localtime(day.closed_at):%H:%M:%S}."
        )
    if day is not None and day.opened_at is not None and cue.due_at and day.opened_at >= cue.due_at:
        raise _Outcome(
            CueStatus.SKIPPED,
            f"Day {cue.day} opened (by hand) after this close time: it stays open until closed by hand.",
        )
    try:
        day = market.market_close(by=by, day_number=cue.day, now=now)
    except MarketAlreadyClosed as exc:
        raise _cannot(exc.detail) from exc
    return {"day": day.number}


def _news(cue: Cue, *, by: User | None, now: datetime) -> dict:
    if cue.news_id:  # a news item scheduled before there was a run sheet, or from the news form
        news = News.objects.filter(pk=cue.news_id).first()
        if news is None:
            raise _cannot("Its news item was deleted.")
        if news.published_at is not None and news.published_at <= timezone.now():
            raise _Outcome(CueStatus.SKIPPED, "Its news item had already been published.")
        news = news_update(  # the cue's words are the item's; readable from this moment
            news=news, by=by, title=cue.data["title"], content=cue.data["content"], published_at=timezone.now()
        )
    else:
        news = news_create(by=by, title=cue.data["title"], content=cue.data["content"], published_at=timezone.now())
        cue.news = news
    return {"news": str(news.pk)}


def _price(cue: Cue, *, by: User | None, now: datetime) -> dict:
    company = Company.objects.filter(ticker=cue.data["ticker"]).first()
    if company is None:
        raise _cannot(f"No company has the ticker {cue.data['ticker']} any more.")
    old = company.current_price
    if "price" in cue.data:
        price = Decimal(cue.data["price"])
    else:
        price = money(old * (1 + Decimal(cue.data["change_pct"]) / 100))
    if price <= 0:
        raise _cannot(f"A change of {cue.data['change_pct']}% from {old} leaves no price.")
    company = market.price_set(company=company, price=price, by=by, now=now)
    return {"ticker": company.ticker, "old_price": str(old), "price": str(company.current_price)}


def _scene(cue: Cue, *, by: User | None, now: datetime) -> dict:
    taken = scene_take(by=by, scene=cue.data["scene"], options=cue.data.get("options") or {})
    return {"scene": taken.scene, "options": taken.options}


def _note(cue: Cue, *, by: User | None, now: datetime) -> dict:
    return {"text": cue.data["text"]}


ACTIONS: dict[str, Callable[..., dict]] = {
    CueAction.OPEN: _open,
    CueAction.CLOSE: _close,
    CueAction.NEWS: _news,
    CueAction.PRICE: _price,
    CueAction.SCENE: _scene,
    CueAction.NOTE: _note,
}


def _fire(cue: Cue, *, by: User | None, now: datetime | None = None) -> Cue:
    """Carry out a locked, planned cue, and mark how it ended, in the caller's transaction. `now`:
    the scheduler's tick (a bell, a price's history and the delay are as of then; never earlier
    than the clock)."""
    now = max(now or timezone.now(), timezone.now())
    try:
        with transaction.atomic():  # a refusal undoes the action's own writes, not the cue's mark
            cue.result = ACTIONS[cue.action](cue, by=by, now=now)
        cue.status, cue.reason = CueStatus.FIRED, ""
    except _Outcome as outcome:
        cue.status, cue.reason, cue.result = outcome.status, outcome.reason, {}
    except DomainError as exc:
        cue.status, cue.reason, cue.result = CueStatus.FAILED, exc.detail, {}
    except Exception as exc:
        logger.exception("cue %s (%s) failed", cue.pk, cue.action)
        cue.status, cue.result = CueStatus.FAILED, {}
        cue.reason = f"It could not be carried out ({type(exc).__name__}; the server's log has the details)."
    cue.fired_at = now
    cue.late_by = max(now - cue.due_at, timedelta(0)) if cue.due_at and by is None else None
    cue.save(update_fields=["status", "reason", "result", "fired_at", "late_by", "news", "updated_at"])
    market.audit(
        by=by,
        action="cue_fire",
        target=f"cue:{cue.pk}",
        cue=_raw_of(cue),
        status=cue.status,
        reason=cue.reason,
        late_seconds=round(cue.late_by.total_seconds(), 3) if cue.late_by else 0,
        by_hand=by is not None,
    )
    if cue.action in (CueAction.OPEN, CueAction.CLOSE):
        _days_replace({cue.day})
        _days_sync({cue.day})
    live.announce(fired=cue)
    return cue


def run_sheet_lock() -> RunSheet:
    """Take the run sheet's row (first of every lock a cue's change or firing takes): callers that
    change a cue's news item take it before the item, as a firing does."""
    RunSheet.load()
    return RunSheet.objects.select_for_update().get(pk=1)


@transaction.atomic
def cue_fire(*, cue: Cue, by: User | None) -> Cue:
    """Fire now, by hand: even while the run sheet is held."""
    run_sheet_lock()
    cue = Cue.objects.select_for_update().get(pk=cue.pk)
    _refuse_done(cue)
    return _fire(cue, by=by)


@transaction.atomic
def cue_skip(*, cue: Cue, by: User | None, reason: str = "") -> Cue:
    run_sheet_lock()
    cue = Cue.objects.select_for_update().get(pk=cue.pk)
    _refuse_done(cue)
    cue.status = CueStatus.SKIPPED
    cue.fired_at = timezone.now()
    cue.reason = reason.strip() or (f"Skipped by {by.email}." if by else "Skipped.")
    cue.save(update_fields=["status", "fired_at", "reason", "updated_at"])
    market.audit(by=by, action="cue_skip", target=f"cue:{cue.pk}", cue=_raw_of(cue), reason=cue.reason)
    if cue.action in (CueAction.OPEN, CueAction.CLOSE):
        _days_sync({cue.day})
    live.announce(fired=cue)
    return cue


def _fire_next_due(now: datetime) -> Cue | None:
    with transaction.atomic():
        sheet = run_sheet_lock()
        if sheet.held_since is not None:
            return None
        cues_place_offsets(now=now)
        cue = (
            Cue.objects.select_for_update()
            .filter(status=CueStatus.PLANNED, due_at__lte=now)
            .order_by("due_at", "position")
            .first()
        )
        return _fire(cue, by=None, now=now) if cue is not None else None


def cues_fire_due(*, now: datetime | None = None) -> list[Cue]:
    """Every cue due at `now`, in time order, each in its own transaction (scheduler)."""
    now = now or timezone.now()
    fired = []
    while (cue := _fire_next_due(now)) is not None:
        fired.append(cue)
    return fired


def cues_due_since(now: datetime) -> datetime | None:
    """When the oldest cue due and not fired fell due (the scheduler's lag); None while held."""
    if RunSheet.objects.filter(pk=1, held_since__isnull=False).exists():
        return None
    return (
        Cue.objects.filter(status=CueStatus.PLANNED, due_at__lte=now)
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first()
    )


# Steering -----------------------------------------------------------------------------------------


@transaction.atomic
def run_sheet_hold(*, by: User | None) -> RunSheet:
    """Pause the run sheet: no cue fires by itself until it resumes (fire now still works)."""
    sheet = run_sheet_lock()
    if sheet.held_since is None:
        sheet.held_since, sheet.held_by, sheet.held_day = timezone.now(), by, live.timeline_day()
        sheet.save(update_fields=["held_since", "held_by", "held_day"])
        market.audit(by=by, action="run_sheet_hold", target="run_sheet")
        live.announce()
    return sheet


@transaction.atomic
def run_sheet_resume(*, by: User | None) -> RunSheet:
    """Go on: every cue of the day being run still to come moves later by the time held (the show
    runs late, the script follows; the days after it keep their times). A cue already late when
    the hold began fires at once."""
    sheet = run_sheet_lock()
    if sheet.held_since is None:
        return sheet
    now = timezone.now()
    held = now - sheet.held_since
    day = sheet.held_day or live.timeline_day()
    later = list(
        Cue.objects.select_for_update().filter(status=CueStatus.PLANNED, day=day, due_at__gte=sheet.held_since)
    )
    for cue in later:
        cue.due_at += held
        cue.shifted_by += held
    Cue.objects.bulk_update(later, ["due_at", "shifted_by"])
    _days_sync({cue.day for cue in later if cue.action in (CueAction.OPEN, CueAction.CLOSE)})
    sheet.held_since, sheet.held_by, sheet.held_day = None, None, None
    sheet.shifted_by += held
    sheet.save(update_fields=["held_since", "held_by", "held_day", "shifted_by"])
    market.audit(
        by=by,
        action="run_sheet_resume",
        target="run_sheet",
        held_seconds=round(held.total_seconds()),
        day=day,
        shifted=len(later),
    )
    live.announce()
    return sheet


@transaction.atomic
def price_cue_undo(*, by: User | None, expected=None) -> Cue:
    """Put back the price the last fired price cue changed (a cue undone earlier is passed over:
    undo again to go one further back). With `expected` (the cue the organiser saw), refused when
    another is now the last: two organisers pressing Undo at once undo one cue, not two. Audited;
    the waiting orders it makes due fill."""
    run_sheet_lock()
    cue = live.undoable_cue()
    if cue is None:
        raise NothingToUndo("No fired price cue is left to undo.")
    if expected is not None and str(cue.pk) != str(expected):
        raise NothingToUndo(
            f"The last price cue is now {cue.result['ticker']} at {timezone.localtime(cue.fired_at):%H:%M:%S} "
            "(another organiser undid or fired one meanwhile): nothing was undone, look again."
        )
    cue = Cue.objects.select_for_update().get(pk=cue.pk)
    company = Company.objects.filter(ticker=cue.result["ticker"]).first()
    if company is None:
        raise NothingToUndo(f"The company {cue.result['ticker']} was deleted.")
    # Refused (409 price_changed) when the price moved since the cue: putting back its old price
    # would undo that later change too.
    market.price_set(
        company=company, price=Decimal(cue.result["old_price"]), by=by, expected_price=Decimal(cue.result["price"])
    )
    cue.undone_at = timezone.now()
    cue.save(update_fields=["undone_at", "updated_at"])
    market.audit(
        by=by,
        action="cue_undo",
        target=f"cue:{cue.pk}",
        ticker=company.ticker,
        price=cue.result["old_price"],
        was=cue.result["price"],
    )
    live.announce()
    return cue

"""What makes a cue valid, for a cue typed in the API or the admin and for a whole spreadsheet alike
(SPEC §6b): each action's fields, and the timeline's rules (not in the past, not on a closed day,
no close before its day's open)."""

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from common.problems import InvalidInput
from market.models import MAX_PRICE, Company, TradingDay
from organisers.director.scenes import SCENES
from organisers.director.scenes import clean as scene_clean
from organisers.models import Cue, CueAction, CueStatus
from organisers.runsheet.times import OFFSET, At, BadTime, event_time_text, parse_at

# Every field a cue's `data` may hold, in the order a spreadsheet lists them.
DATA_FIELDS = ("title", "content", "ticker", "price", "change_pct", "scene", "options", "text")
FIELDS_OF = {
    CueAction.OPEN: (),
    CueAction.CLOSE: (),
    CueAction.NEWS: ("title", "content"),
    CueAction.PRICE: ("ticker", "price", "change_pct"),
    CueAction.SCENE: ("scene", "options"),
    CueAction.NOTE: ("text",),
}
MAX_DAY = 366
MAX_TITLE = 300
MAX_CONTENT = 20_000
MAX_TEXT = 1_000
MIN_CHANGE_PCT, MAX_CHANGE_PCT = Decimal("-99.99"), Decimal("1000")


@dataclass
class Proposed:
    """A cue as it would be written: read and checked field by field, its time not yet placed."""

    day: int
    at: At
    action: str
    data: dict
    row: int | None = None  # the spreadsheet row it came from
    shifted_by: timedelta = timedelta(0)  # a hold's shift it keeps (a cue edited, its time not)
    due_at: datetime | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_DAY = re.compile(r"\d{1,4}(?:\.0*)?")


def read_day(value) -> int:
    """A day's number: a whole number (a spreadsheet's 2.0 too), never a bool, an exponent or Infinity."""
    text = str(value).strip() if isinstance(value, (int, float, Decimal, str)) and not isinstance(value, bool) else ""
    if not _DAY.fullmatch(text):
        raise ValueError("Write the day's number: 1, 2, 3…")
    number = int(Decimal(text))
    if not 1 <= number <= MAX_DAY:
        raise ValueError(f"The day is a number from 1 to {MAX_DAY}.")
    return number


def _decimal(value, name: str) -> Decimal:
    text = str(value).strip().replace(",", "")
    if len(text) > 30:
        raise ValueError(f"The {name} must be a number.")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"The {name} must be a number.") from None
    if not number.is_finite():
        raise ValueError(f"The {name} must be a number.")
    return number


def _text(value, name: str, limit: int) -> str:
    if _blank(value):
        raise ValueError(f"A cue of this action needs its {name}.")
    text = str(value).strip()
    if "\x00" in text:
        raise ValueError(f"The {name} holds a NUL character: remove it.")
    if len(text) > limit:
        raise ValueError(f"The {name} is at most {limit:,} characters.")
    return text


def read_data(action: str, raw: dict, companies: dict[str, Company]) -> tuple[dict, dict[str, list[str]]]:
    """The action's fields from `raw` (blank ones ignored), checked: (data, errors by field)."""
    data: dict = {}
    errors: dict[str, list[str]] = {}
    given = {name for name, value in raw.items() if not _blank(value) and value != {}}
    for name in sorted(given - set(FIELDS_OF.get(action, ()))):
        wanted = ", ".join(FIELDS_OF[action]) or "no other field"
        errors[name] = [f"A {action} cue takes {wanted}; not {name}."]

    def check(name: str, read) -> None:
        if name in errors:
            return
        try:
            data[name] = read(raw.get(name))
        except ValueError as exc:
            errors[name] = [str(exc)]

    if action == CueAction.NEWS:
        check("title", lambda value: _text(value, "title", MAX_TITLE))
        check("content", lambda value: _text(value, "content", MAX_CONTENT))
    elif action == CueAction.NOTE:
        check("text", lambda value: _text(value, "text", MAX_TEXT))
    elif action == CueAction.PRICE:
        check("ticker", lambda value: _ticker(value, companies))
        if ("price" in given) == ("change_pct" in given):
            errors.setdefault("price", []).append("Give either a price or a change in % (change_pct), not both.")
        elif "price" in given:
            check("price", _price)
        else:
            check("change_pct", _change_pct)
    elif action == CueAction.SCENE:
        check("scene", _scene)
        check("options", _options)
        _scene_checked(data, errors)
    return data, errors


def _scene_checked(data: dict, errors: dict[str, list[str]]) -> None:
    """A scene cue's options as the director checks them, but for what only the moment it fires
    can tell (its news item published, a bell scheduled, its time still to come)."""
    if "scene" not in data or "options" not in data:
        return
    try:
        data["scene"], data["options"] = scene_clean(data["scene"], data["options"], now=False)
    except InvalidInput as refusal:
        for name, messages in (refusal.errors or {}).items():
            errors.setdefault("scene" if name == "scene" else "options", []).extend(messages)


def _ticker(value, companies: dict[str, Company]) -> str:
    if _blank(value):
        raise ValueError("A price cue needs the company's ticker.")
    ticker = str(value).strip().upper()
    if ticker not in companies:
        raise ValueError(f"No company has the ticker {ticker[:12]!r}.")
    return ticker


def _price(value) -> str:
    price = _decimal(value, "price")
    if price <= 0 or price > MAX_PRICE or price != price.quantize(Decimal("0.01")):
        raise ValueError("The price must be above 0, at most 999,999,999,999.99, in cents.")
    return str(price.quantize(Decimal("0.01")))


def _change_pct(value) -> str:
    change = _decimal(str(value).strip().removesuffix("%"), "change in %")
    if not MIN_CHANGE_PCT <= change <= MAX_CHANGE_PCT or change == 0:
        raise ValueError(f"The change in % is from {MIN_CHANGE_PCT} to {MAX_CHANGE_PCT}, and not 0.")
    if change != change.quantize(Decimal("0.01")):
        raise ValueError("The change in % has at most two decimals (e.g. -7.25).")
    return format(change.normalize(), "f")  # 10, -7.5: never 1E+1


def _scene(value) -> str:
    name = "" if value is None else str(value).strip().lower()
    if name not in SCENES:
        raise ValueError(f"The scene is one of {', '.join(SCENES)}.")
    return name


def _options(value) -> dict:
    if _blank(value):
        return {}
    not_json = 'The options are a JSON object, e.g. {"top": 5}.'
    try:
        if isinstance(value, str):
            value = json.loads(value[:2_001])
        text = json.dumps(value, allow_nan=False)  # NaN and Infinity are not JSON
    except (ValueError, RecursionError):
        raise ValueError(not_json) from None
    if not isinstance(value, dict):
        raise ValueError(not_json)
    if len(text) > 2_000 or "\\u0000" in text:
        raise ValueError("The options are at most 2,000 characters of JSON, without NUL characters.")
    return value


def propose(raw: dict, companies: dict[str, Company], *, row: int | None = None) -> Proposed:
    """Read one cue from `raw` (`day`, `at`, `action` and the action's fields): every field's
    error collected, not just the first."""
    errors: dict[str, list[str]] = {}
    day = at = None
    try:
        day = read_day(raw.get("day"))
    except ValueError as exc:
        errors["day"] = [str(exc)]
    try:
        at = parse_at(raw.get("at"))
    except BadTime as exc:
        errors["at"] = [str(exc)]
    action = "" if raw.get("action") is None else str(raw.get("action")).strip().lower()
    data: dict = {}
    if action not in CueAction.values:
        errors["action"] = [f"Unknown action {action[:20]!r}: one of {', '.join(CueAction.values)}."]
    else:
        data, data_errors = read_data(action, {name: raw.get(name) for name in DATA_FIELDS}, companies)
        errors.update(data_errors)
        if action == CueAction.OPEN and at is not None and at.form == OFFSET:
            errors.setdefault("at", []).append(
                "An open cue is the start bell itself: give it a date-time or a clock time."
            )
        if action == CueAction.CLOSE and at is not None and at.form == OFFSET and not at.offset:
            errors.setdefault("at", []).append("A day closes at least a second after its start bell.")
    return Proposed(day=day or 0, at=at, action=action, data=data, row=row, errors=errors)


def place(proposed: list[Proposed], *, keep: list[Cue], now: datetime | None = None) -> None:
    """Work out each proposed cue's time beside the cues kept (`keep`: the planned cues that stay),
    and record on each what the timeline forbids: a time already past, a day already closed or
    skipped, a day opened twice, a close not after its open."""
    now = now or timezone.now()
    readable = [cue for cue in proposed if cue.at is not None and cue.day]
    numbers = {cue.day for cue in readable} | {cue.day for cue in keep}
    days = {day.number: day for day in TradingDay.objects.filter(number__in=numbers)}
    last_opened = TradingDay.objects.filter(opened_at__isnull=False).order_by("-number").first()
    opens: dict[int, datetime | None] = {}
    for cue in keep:
        if cue.action == CueAction.OPEN:
            opens[cue.day] = cue.due_at
    for cue in readable:
        if cue.action == CueAction.OPEN and not cue.errors:
            opens[cue.day] = cue.at.resolve(day_opens_at=None, bell_at=None, now=now)
    for cue in readable:
        day = days.get(cue.day)
        day_opens_at = opens.get(cue.day) or (day.scheduled_open_at if day else None)
        if cue.action == CueAction.OPEN:
            day_opens_at = None  # its own time: a clock time is today's
        due_at = cue.at.resolve(day_opens_at=day_opens_at, bell_at=day.opened_at if day else None, now=now)
        cue.due_at = due_at + cue.shifted_by if due_at else None
        problem = _day_problem(cue, day, last_opened)
        if problem:
            cue.errors.setdefault("day", []).append(problem)
        elif cue.due_at is not None and cue.due_at <= now:
            after = f" ({cue.at.text} after day {cue.day}'s start bell)" if cue.at.form == OFFSET else ""
            cue.errors.setdefault("at", []).append(f"{event_time_text(cue.due_at)}{after} has already passed.")
    _bells_twice(readable, keep)
    _close_after_open(readable, keep)


def _close_after_open(proposed: list[Proposed], keep: list[Cue]) -> None:
    """A day closes after it opens: a close before its day's open, or an open moved after the close
    it keeps (an open and a close written together: the close is the one said to be wrong)."""
    kept = {(cue.day, cue.action): cue.due_at for cue in keep if cue.due_at}
    opens = {**kept, **{(cue.day, cue.action): cue.due_at for cue in proposed if cue.due_at and not cue.errors}}
    for cue in proposed:
        if cue.due_at is None or cue.action not in (CueAction.OPEN, CueAction.CLOSE):
            continue
        opens_at = cue.due_at if cue.action == CueAction.OPEN else opens.get((cue.day, CueAction.OPEN))
        closes_at = cue.due_at if cue.action == CueAction.CLOSE else kept.get((cue.day, CueAction.CLOSE))
        if opens_at is not None and closes_at is not None and closes_at <= opens_at:
            cue.errors.setdefault("at", []).append(
                f"Day {cue.day} would close ({event_time_text(closes_at)}) "
                f"before it opens ({event_time_text(opens_at)})."
            )


def _bells_twice(proposed: list[Proposed], keep: list[Cue]) -> None:
    """A day rings its start bell once and its end bell once: a second open or close is an error."""
    kept = {(cue.day, cue.action): cue for cue in keep if cue.action in (CueAction.OPEN, CueAction.CLOSE)}
    first: dict[tuple[int, str], int | None] = {}
    for cue in proposed:
        if cue.action not in (CueAction.OPEN, CueAction.CLOSE):
            continue
        key, verb = (cue.day, cue.action), "opens" if cue.action == CueAction.OPEN else "closes"
        if key in kept:
            when = event_time_text(kept[key].due_at)[:16] if kept[key].due_at else kept[key].at
            cue.errors.setdefault("action", []).append(f"Day {cue.day} already {verb} at {when} (another planned cue).")
        elif key in first:
            cue.errors.setdefault("action", []).append(f"Day {cue.day} already {verb} on row {first[key]}.")
        else:
            first[key] = cue.row


def _day_problem(cue: Proposed, day: TradingDay | None, last_opened: TradingDay | None) -> str:
    if day is not None and day.closed_at is not None:
        return f"Day {cue.day} has already closed."
    if day is not None and day.opened_at is not None and cue.action == CueAction.OPEN:
        return f"Day {cue.day} has already opened."
    if last_opened is not None and cue.day < last_opened.number and (day is None or day.opened_at is None):
        return f"Day {cue.day} was skipped: day {last_opened.number} has opened."
    return ""


def planned_cues(*, except_days: set[int] = frozenset(), except_ids: set = frozenset()) -> list[Cue]:
    return list(Cue.objects.filter(status=CueStatus.PLANNED).exclude(day__in=except_days).exclude(pk__in=except_ids))


def companies_by_ticker() -> dict[str, Company]:
    return {company.ticker: company for company in Company.objects.all()}

"""When a cue fires: its `at` as the organiser wrote it, read and worked out (SPEC §6b).

Three forms, all in event time (`EVENT_TIMEZONE`):
- a date-time, `2026-12-08 09:20` (seconds optional; a `T` between is accepted);
- a clock time, `09:20`, on the date of its day's scheduled open, or today when it has none;
- an offset from its day's start bell, whenever it rings, `+00:45:00` (`+0:45` and `+45:00:00`
  too): no time until the bell rings.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

DATETIME = "datetime"
CLOCK = "clock"
OFFSET = "offset"

_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_OFFSET = re.compile(r"\+(\d{1,3}):(\d{2})(?::(\d{2}))?")
MAX_OFFSET = timedelta(days=7)


class BadTime(ValueError):
    """An `at` that is none of the three forms: its message says what is expected."""


@dataclass(frozen=True)
class At:
    """A cue's time, read: its form and value, and the text it is kept as."""

    form: str
    moment: datetime | None = None  # DATETIME: aware, in event time
    clock: time | None = None  # CLOCK
    offset: timedelta | None = None  # OFFSET

    @property
    def text(self) -> str:
        if self.form == DATETIME:
            return self.moment.strftime("%Y-%m-%d %H:%M:%S" if self.moment.second else "%Y-%m-%d %H:%M")
        if self.form == CLOCK:
            return self.clock.strftime("%H:%M:%S" if self.clock.second else "%H:%M")
        seconds = int(self.offset.total_seconds())
        return f"+{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"

    def resolve(self, *, day_opens_at: datetime | None, bell_at: datetime | None, now: datetime) -> datetime | None:
        """When the cue is due, before any hold: None for an offset whose bell has not rung."""
        if self.form == DATETIME:
            return self.moment
        if self.form == CLOCK:
            on = timezone.localtime(day_opens_at).date() if day_opens_at else timezone.localtime(now).date()
            return at_event_time(on, self.clock)
        return bell_at + self.offset if bell_at is not None else None


EXPECTED = "Write a date-time (2026-12-08 09:20), a clock time (09:20) or an offset from the start bell (+00:45:00)."


def parse_at(value) -> At:
    """Read `at` from text, or from what a spreadsheet cell holds (a datetime, a time)."""
    if isinstance(value, datetime):
        moment = value if timezone.is_aware(value) else timezone.make_aware(value.replace(microsecond=0))
        return At(DATETIME, moment=timezone.localtime(moment).replace(microsecond=0))
    if isinstance(value, time):
        return At(CLOCK, clock=value.replace(microsecond=0, tzinfo=None))
    if not isinstance(value, str):
        raise BadTime(EXPECTED)
    text = value.strip()
    if match := _DATETIME.fullmatch(text):
        year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
        try:
            return At(DATETIME, moment=at_event_time(date(year, month, day), time(hour, minute, second)))
        except ValueError:
            raise BadTime(f"{text!r} is not a real date and time. {EXPECTED}") from None
    if match := _CLOCK.fullmatch(text):
        hour, minute, second = (int(part or 0) for part in match.groups())
        try:
            return At(CLOCK, clock=time(hour, minute, second))
        except ValueError:
            raise BadTime(f"{text!r} is not a time of day. {EXPECTED}") from None
    if match := _OFFSET.fullmatch(text):
        hours, minutes, seconds = (int(part or 0) for part in match.groups())
        if minutes > 59 or seconds > 59:
            raise BadTime(f"{text!r}: minutes and seconds go up to 59. {EXPECTED}")
        offset = timedelta(hours=hours, minutes=minutes, seconds=seconds)
        if offset > MAX_OFFSET:
            raise BadTime(f"{text!r}: an offset is at most a week ({MAX_OFFSET.days * 24}:00:00).")
        return At(OFFSET, offset=offset)
    raise BadTime(f"{text[:40]!r} is not a time. {EXPECTED}")


def at_event_time(on: date, clock: time) -> datetime:
    return timezone.make_aware(datetime.combine(on, clock))


def event_time_text(moment: datetime | None) -> str:
    """A moment as an organiser reads it: `2026-12-08 09:20:00` in event time."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def duration_text(delta: timedelta | None) -> str:
    """`01:02:03` (hours may pass 24); empty for none."""
    if delta is None:
        return ""
    seconds = int(delta.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    return f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"

"""The run sheet on the organisers' screens: the `run_sheet` event (topic `cues`, organisers only)
and its part of a snapshot. One shape for the event, the snapshot, the control room and the API."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from market.models import TradingDay
from organisers.models import Cue, CueAction, CueStatus, RunSheet
from organisers.runsheet.times import duration_text, parse_at
from overlay import domain
from overlay.events import CUES, ORGANISERS, broadcast

ONE_SECOND = timedelta(seconds=1)  # a cue fired within its tick is on time


def cue_data(cue: Cue, *, expected_at: datetime | None = None) -> dict:
    """A cue as the API and the screens show it (SPEC §6b). `expected_at`: when an offset whose
    bell has not rung would fire if the bell rang on time (for the timeline only)."""
    return {
        "id": str(cue.pk),
        "day": cue.day,
        "at": cue.at,
        "due_at": cue.due_at,
        "expected_at": cue.due_at or expected_at,
        "action": cue.action,
        "data": cue.data,
        "status": cue.status,
        "fired_at": cue.fired_at,
        "late_by": duration_text(cue.late_by) if cue.late_by and cue.late_by >= ONE_SECOND else "",
        "shifted_by": duration_text(cue.shifted_by) if cue.shifted_by else "",
        "reason": cue.reason,
        "result": cue.result,
        "undone_at": cue.undone_at,
    }


def sheet_data(sheet: RunSheet | None = None) -> dict:
    sheet = sheet or RunSheet.load()
    return {
        "held": sheet.held_since is not None,
        "held_since": sheet.held_since,
        "shifted_by": round(sheet.shifted_by.total_seconds()),
    }


def timeline_day() -> int:
    """The day the control room shows: the open one; else the next with cues still to come; else
    the last that opened; else day 1."""
    day = TradingDay.objects.filter(opened_at__isnull=False, closed_at__isnull=True).first()
    if day is not None:
        return day.number
    last = TradingDay.objects.filter(opened_at__isnull=False).order_by("-number").first()
    upcoming = Cue.objects.filter(status=CueStatus.PLANNED, day__gte=last.number if last else 1).order_by("day")
    number = upcoming.values_list("day", flat=True).first()
    return number or (last.number if last else 1)


def ordered(cues: list[Cue]) -> list[dict]:
    """Cues by day, then the time they fire (an offset waiting for its bell: when it would fire if
    the bell rang at the scheduled open)."""
    opens = {
        day.number: day.opened_at or day.scheduled_open_at
        for day in TradingDay.objects.filter(number__in={cue.day for cue in cues})
    }
    rows = []
    for cue in cues:
        expected = None
        if cue.due_at is None and opens.get(cue.day):
            expected = opens[cue.day] + parse_at(cue.at).offset + cue.shifted_by if cue.at.startswith("+") else None
        rows.append(cue_data(cue, expected_at=expected))
    far = timezone.now().replace(year=9999)
    return sorted(rows, key=lambda row: (row["day"], row["expected_at"] or far))


def undoable_cue() -> Cue | None:
    """The price cue an undo would put back: the last fired one not undone yet."""
    return (
        Cue.objects.filter(action=CueAction.PRICE, status=CueStatus.FIRED, undone_at__isnull=True)
        .order_by("-fired_at", "-position")
        .first()
    )


def timeline(day: int | None = None) -> dict:
    day = day or timeline_day()
    undoable = undoable_cue()
    return {
        "run_sheet": sheet_data(),
        "day": day,
        "days": sorted(set(Cue.objects.values_list("day", flat=True))),
        "cues": ordered(list(Cue.objects.filter(day=day).order_by("position"))),
        "undoable": cue_data(undoable) if undoable else None,  # what Undo would put back
    }


def announce(*, fired: Cue | None = None) -> None:
    """After the commit, every organiser's timeline is told the run sheet as it now is (the latest
    replaces one a slow screen has not drawn yet); `fired`, the cue that just fired, for the note
    that pops up."""
    fired_data = cue_data(fired) if fired is not None else None

    def send() -> None:
        broadcast("run_sheet", {**timeline(), "fired": fired_data}, audience=ORGANISERS)

    transaction.on_commit(send, robust=True)


def _snapshot(viewer) -> dict | None:
    return timeline() if viewer.is_admin else None


def register() -> None:
    domain.snapshot_part("run_sheet", topic=CUES, build=_snapshot)

"""The run sheet's panel of the control room as the server draws it first, from the timeline every
screen shares (organisers.runsheet.live). static/control/run_sheet.js draws the same from each
`run_sheet` event: the wording here and there is kept the same.
"""

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from market.templatetags.money import amount
from organisers.models import CueAction, CueStatus
from organisers.runsheet.times import duration_text

ACTION_LABELS = {
    CueAction.OPEN: "Open",
    CueAction.CLOSE: "Close",
    CueAction.NEWS: "News",
    CueAction.PRICE: "Price",
    CueAction.SCENE: "Scene",
    CueAction.NOTE: "Note",
}
STATUS_LABELS = dict(CueStatus.choices)
# A planned cue this long past its time, not fired: the scheduler is probably not running.
OVERDUE_AFTER = timedelta(seconds=10)


def _moment(value: datetime | str | None) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) else value


def clock(value: datetime | str | None) -> str:
    """`10:20:00` in event time."""
    moment = _moment(value)
    return timezone.localtime(moment).strftime("%H:%M:%S") if moment else ""


def _change_pct(value: str) -> str:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return f"{value}%"
    text = format(number, "f")  # a whole change may be kept as "1E+1"
    return f"+{text}%" if number > 0 else f"{text}%"


def summary(cue: dict[str, Any]) -> str:
    """What the cue does, in one line."""
    data, action = cue["data"], cue["action"]
    if action == CueAction.OPEN:
        return f"Start bell: day {cue['day']} opens"
    if action == CueAction.CLOSE:
        return f"End bell: day {cue['day']} closes"
    if action == CueAction.NEWS:
        return data.get("title", "")
    if action == CueAction.PRICE:
        if "price" in data:
            return f"{data.get('ticker', '')} → {amount(data['price'])}"
        return f"{data.get('ticker', '')} {_change_pct(data.get('change_pct', ''))}"
    if action == CueAction.SCENE:
        options = " ".join(f"{name} {value}" for name, value in (data.get("options") or {}).items())
        return f"{data.get('scene', '')} {options}".strip()
    return data.get("text", "")


def describe(cue: dict[str, Any]) -> str:
    """The cue named in a message: `Price ACME → 12.00`."""
    return f"{ACTION_LABELS.get(cue['action'], cue['action'])} “{summary(cue)}”"


def countdown(until: datetime, now: datetime) -> str:
    """`4:12`, `1:04:12` (as static/shared/format.js counts down)."""
    left = max(0, int((until - now).total_seconds()))
    hours, minutes, seconds = left // 3600, left % 3600 // 60, left % 60
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def next_in(row: dict[str, Any], *, held: bool, now: datetime) -> str:
    """The next cue's countdown, as it reads when the page is drawn (the page's script ticks it)."""
    if held:
        return "held: it waits for Resume"
    if row["due_at"] is None:
        if row["expected_at"] is None:
            return "waits for the start bell"
        return f"in about {countdown(row['expected_at'], now)}, if the bell rings on time"
    if row["due_at"] > now:
        return f"in {countdown(row['due_at'], now)}"
    late = now - row["due_at"]
    if late <= OVERDUE_AFTER:
        return "due now"
    return f"overdue by {countdown(now, row['due_at'])}: is the scheduler running?"


def details(cue: dict[str, Any]) -> list[str]:
    """How the cue ended (or how it moved), after its status."""
    bits = []
    if cue["fired_at"] and cue["status"] != CueStatus.PLANNED:
        bits.append(clock(cue["fired_at"]))
    result = cue.get("result") or {}
    if cue["status"] == CueStatus.FIRED and cue["action"] == CueAction.PRICE and "old_price" in result:
        bits.append(f"{result['ticker']} {amount(result['old_price'])} → {amount(result['price'])}")
    if cue["late_by"]:
        bits.append(f"late by {cue['late_by']}")
    if cue["shifted_by"]:
        bits.append(f"shifted by {cue['shifted_by']}")
    if cue["undone_at"]:
        bits.append(f"undone at {clock(cue['undone_at'])}")
    if cue["reason"]:
        bits.append(cue["reason"])
    return bits


def panel(timeline: dict[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """The timeline ready for the template: each cue with its time, summary and status in words,
    the next planned one marked with its countdown."""
    now = now or timezone.now()
    sheet = timeline["run_sheet"]
    rows = []
    next_found = False
    for cue in timeline["cues"]:
        due_at, expected_at = _moment(cue["due_at"]), _moment(cue["expected_at"])
        row = {
            **cue,
            "due_at": due_at,
            "expected_at": expected_at,
            "time": clock(expected_at),
            "estimated": due_at is None and expected_at is not None,
            "offset": cue["at"] if cue["at"].startswith("+") else "",
            "label": ACTION_LABELS.get(cue["action"], cue["action"]),
            "summary": summary(cue),
            "status_label": STATUS_LABELS.get(cue["status"], cue["status"]),
            "details": details(cue),
            "planned": cue["status"] == CueStatus.PLANNED,
            "undone": bool(cue["undone_at"]),
            "next": False,
        }
        if row["planned"] and not next_found:
            next_found = row["next"] = True
            row["next_in"] = next_in(row, held=sheet["held"], now=now)
        rows.append(row)
    return {
        "day": timeline["day"],
        "other_days": [day for day in timeline["days"] if day != timeline["day"]],
        "held": sheet["held"],
        "held_since": clock(sheet["held_since"]),
        "shifted_by": duration_text(timedelta(seconds=sheet["shifted_by"])) if sheet["shifted_by"] else "",
        "cues": rows,
        "undoable": undo_label(timeline.get("undoable")),
        "undoable_id": (timeline.get("undoable") or {}).get("id", ""),
    }


def undo_label(cue: dict[str, Any] | None) -> str:
    """What Undo would put back, in words: `ACME back to 10.00 (fired 09:21:00)`."""
    if not cue:
        return ""
    result = cue["result"]
    return f"{result['ticker']} back to {result['old_price']} (fired {clock(cue['fired_at'])})"

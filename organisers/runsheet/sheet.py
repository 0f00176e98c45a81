"""The run sheet as a spreadsheet (SPEC §6b): imported all-or-nothing like the teams, exported with
every cue as it stands, and a template to start from.

Columns (headers in any case, aliases in COLUMNS): `day`, `at`, `action`, and the action's fields
`title`, `content`, `ticker`, `price`, `change_pct`, `scene`, `options`, `text`. Other columns are
left alone, but for `status`: a row of an export whose cue was fired, skipped or failed is the
record and is passed over, so an exported run sheet imports back as it is.

Every row is read by the rules a cue typed in the admin or the API follows (rules.propose), then
placed on the timeline beside the planned cues that stay (rules.place). One bad row imports
nothing; the report names every bad row (its row number in the spreadsheet, the header being
row 1), the column and the reason.

An import is the whole script of the days it names: the planned cues of each day that has a row
in the file are replaced by the file's rows of that day (the cues already fired, skipped or
failed stay, as the record); other days are untouched. In the report, `created` counts the cues
the file writes, `updated` is always 0 (no cue is changed in place) and `replaced` counts the
planned cues that give way.
"""

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone

from accounts.models import User
from market.models import Company, TradingDay
from organisers.cells import CellError, cell_text, event_time, header_key, parse_json_object
from organisers.imports import ImportInvalid
from organisers.models import Cue, CueAction, CueStatus, RunSheet
from organisers.runsheet import live, services
from organisers.runsheet.rules import DATA_FIELDS, Proposed, companies_by_ticker, place, planned_cues, propose
from organisers.runsheet.times import OFFSET, event_time_text
from organisers.spreadsheets import XLSX_CONTENT_TYPE, Sheet, inert, read_sheet

COLUMNS = {
    "day": ("day", "trading day"),
    "at": ("at", "time", "when"),
    "action": ("action",),
    "title": ("title", "headline"),
    "content": ("content", "body"),
    "ticker": ("ticker",),
    "price": ("price", "new price"),
    "change_pct": ("change_pct", "change %", "change", "change pct"),
    "scene": ("scene",),
    "options": ("options", "scene options"),
    "text": ("text", "note"),
    "status": ("status",),  # an export's: the rows done are passed over
}
REQUIRED = ("day", "at", "action")
IMPORT_COLUMNS = ("day", "at", "action", *DATA_FIELDS)
EXPORT_COLUMNS = (*IMPORT_COLUMNS, "status", "due_at", "fired_at", "reason")
DONE = (CueStatus.FIRED, CueStatus.SKIPPED, CueStatus.FAILED)
ORDER = {name: index for index, name in enumerate(COLUMNS)}
SUMMARY_LENGTH = 80


@dataclass
class Report:
    """What an import did, or would do (SPEC §4's report, and the timeline it makes)."""

    dry_run: bool
    created: int = 0
    replaced: int = 0
    passed_over: int = 0
    days: list[int] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timeline: list[dict] = field(default_factory=list)

    def error(self, row: int, column: str, message: str) -> None:
        self.errors.append({"row": row, "column": column, "message": message})

    def as_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "created": self.created,
            "updated": 0,
            "replaced": self.replaced,
            "passed_over": self.passed_over,
            "days": self.days,
            "errors": sorted(self.errors, key=lambda e: (e["row"], ORDER.get(e["column"], len(ORDER)), e["column"])),
            "warnings": self.warnings,
            "timeline": self.timeline,
        }


# Reading -------------------------------------------------------------------------------------------


def run_sheet_import(
    *, content: bytes, filename: str = "", dry_run: bool = False, by: User | None = None, now: datetime | None = None
) -> Report:
    """Read, check and (unless `dry_run`) write the cues of one file. Raises ImportInvalid with the
    report when any row is bad, SpreadsheetRefused when the file cannot be read."""
    sheet = read_sheet(content, filename)
    if dry_run:
        return run_sheet_check(sheet, now=now)[0]
    with transaction.atomic():
        # The run sheet's row first, as every firing takes it (services): no cue of these days
        # fires between the check and the write.
        RunSheet.objects.select_for_update().get(pk=RunSheet.load().pk)
        report, proposed = run_sheet_check(sheet, dry_run=False, now=now)
        services.cues_replace(by=by, proposed=proposed)
    return report


def run_sheet_check(
    sheet: Sheet, *, dry_run: bool = True, now: datetime | None = None
) -> tuple[Report, list[Proposed]]:
    """Every row read and placed as of `now`; nothing written. Raises ImportInvalid with the
    report when any row is bad."""
    now = now or timezone.now()
    report = Report(dry_run=dry_run)
    columns = _map_headers(sheet.headers, report)
    proposed = _read_rows(sheet, columns, report) if not report.errors else []
    days = {cue.day for cue in proposed if cue.day}
    if proposed:
        place(proposed, keep=planned_cues(except_days=days), now=now)
    for cue in proposed:
        for name, messages in cue.errors.items():
            for message in messages:
                report.error(cue.row, name, message)
    if report.errors:
        bad_rows = len({error["row"] for error in report.errors})
        raise ImportInvalid(
            f"{bad_rows} row{'s' if bad_rows != 1 else ''} of the file ha{'ve' if bad_rows != 1 else 's'} errors; "
            "nothing was imported.",
            **report.as_dict(),
        )
    report.created = len(proposed)
    report.days = sorted(days)
    report.replaced = Cue.objects.filter(status=CueStatus.PLANNED, day__in=days).count()
    report.warnings = _warnings(proposed, days)
    report.timeline = timeline(proposed)
    return report, proposed


def _map_headers(headers: list[str], report: Report) -> dict[str, int]:
    aliases = {header_key(alias): name for name, names in COLUMNS.items() for alias in names}
    found: dict[str, int] = {}
    for index, header in enumerate(headers):
        name = aliases.get(header_key(header))
        if name is None:
            continue  # the organiser's own columns (who, remarks…) are left alone
        if name in found:
            report.error(1, name, f'Two columns mean "{name}" ({headers[found[name]]!r} and {header!r}): keep one.')
            continue
        found[name] = index
    for name in REQUIRED:
        if name not in found:
            report.error(1, name, f"No {name} column. Accepted headers: {', '.join(COLUMNS[name])}.")
    return found


def _read_rows(sheet: Sheet, columns: dict[str, int], report: Report) -> list[Proposed]:
    companies = companies_by_ticker()
    proposed: list[Proposed] = []
    for number, cells in sheet.rows:
        values = {name: cell_text(cells[index]) for name, index in columns.items()}
        if not any(value for name, value in values.items() if name != "status"):
            continue  # a blank line, or only the organiser's own remarks
        status = values.pop("status", "").lower()
        if status in DONE:
            report.passed_over += 1
            continue
        cue = propose(_guarded(values), companies, row=number)
        if status not in ("", CueStatus.PLANNED):
            cue.errors["status"] = [
                f"Unknown status {status[:20]!r}: leave it empty (or planned) for a cue to import; "
                "rows fired, skipped or failed are the record and are passed over."
            ]
        proposed.append(cue)
    if not proposed and not report.errors:
        done = f" ({report.passed_over} rows are fired, skipped or failed: the record, passed over)"
        report.error(2, "action", f"The sheet has a header but no cue to import{done if report.passed_over else ''}.")
    return proposed


DAY_TEXT = re.compile(r"[+-]?\d{1,6}(\.\d{1,6})?")


def _guarded(values: dict[str, str]) -> dict[str, Any]:
    """The cells as the rules read them, but for a day written as a huge or infinite number, which
    the rules would spend minutes turning into an integer (or fail on): a text they refuse."""
    raw: dict[str, Any] = dict(values)
    if raw.get("day") and not DAY_TEXT.fullmatch(raw["day"]):
        raw["day"] = "?"  # the rules' own message: the day's number, 1, 2, 3…
    if raw.get("options"):
        raw["options"] = read_options(raw["options"])
    return raw


def read_options(text: str) -> dict | str:
    """A scene's options typed as text (a cell, a form), for the rules: the JSON object, or, for
    JSON the database refuses (NaN) or too deeply nested to read, a text the rules refuse."""
    try:
        return parse_json_object(text)
    except CellError:
        return "(not a JSON object)"


def _warnings(proposed: list[Proposed], days: set[int]) -> list[str]:
    """What the file drops without saying so: a day's planned bell that no row of the file rings, a
    scheduled news item no row of the file publishes."""
    given = {(cue.day, cue.action) for cue in proposed}
    warnings = []
    bells = Cue.objects.filter(
        status=CueStatus.PLANNED, day__in=days, action__in=[CueAction.OPEN, CueAction.CLOSE]
    ).order_by("day", "action")
    for cue in bells:
        if (cue.day, cue.action) not in given:
            bell = "start bell" if cue.action == CueAction.OPEN else "end bell"
            when = event_time_text(cue.due_at) or f"{cue.at} after the start bell"
            warnings.append(
                f"Day {cue.day}: the file has no {cue.action} row, so its planned {bell} ({when}) is removed; "
                f"add a {cue.action} row, or ring it by hand."
            )
    titles = {cue.data.get("title") for cue in proposed if cue.action == CueAction.NEWS}
    waiting = Cue.objects.filter(status=CueStatus.PLANNED, day__in=days, news__isnull=False).order_by("day", "due_at")
    for cue in waiting:
        if cue.data.get("title") not in titles:
            warnings.append(
                f"Day {cue.day}: the news item “{cue.data.get('title')}” was scheduled for "
                f"{event_time_text(cue.due_at)} and the file has no news row with its title: it stays a draft."
            )
    return warnings


def timeline(proposed: list[Proposed]) -> list[dict]:
    """The cues a file makes, by day then time: an offset waiting for its bell is placed where it
    falls if the bell rings at the file's open (`expected_at`)."""
    opens = {cue.day: cue.due_at for cue in proposed if cue.action == CueAction.OPEN and cue.due_at}
    rows = []
    for cue in proposed:
        expected = cue.due_at
        if expected is None and cue.at.form == OFFSET and opens.get(cue.day):
            expected = opens[cue.day] + cue.at.offset
        rows.append(
            {
                "row": cue.row,
                "day": cue.day,
                "at": cue.at.text,
                "due_at": event_time_text(cue.due_at),
                "expected_at": event_time_text(expected),
                "action": cue.action,
                "summary": summary(cue.action, cue.data),
                "_sort": expected,
            }
        )
    far = timezone.now().replace(year=9999)
    rows.sort(key=lambda row: (row["day"], row["_sort"] or far, row["row"]))
    for row in rows:
        del row["_sort"]
    return rows


def summary(action: str, data: dict) -> str:
    """A cue in one line: `Start bell`, `ACME to 12.50`, `ACME -5%`, a news item's title."""
    if action == CueAction.OPEN:
        text = "Start bell"
    elif action == CueAction.CLOSE:
        text = "End bell"
    elif action == CueAction.NEWS:
        text = data.get("title", "")
    elif action == CueAction.PRICE:
        ticker = data.get("ticker", "")
        if "price" in data:
            text = f"{ticker} to {data['price']}"
        else:
            change = str(data.get("change_pct", ""))
            text = f"{ticker} {change if change.startswith('-') else '+' + change}%"
    elif action == CueAction.SCENE:
        options = data.get("options") or {}
        text = (
            f"{data.get('scene', '')} {json.dumps(options, ensure_ascii=False)}" if options else data.get("scene", "")
        )
    else:
        text = data.get("text", "")
    text = " ".join(str(text).split())
    return text if len(text) <= SUMMARY_LENGTH else text[: SUMMARY_LENGTH - 1] + "…"


# Writing -------------------------------------------------------------------------------------------


def _cells(cue: dict) -> list[Any]:
    """A cue's import columns: numbers as numbers (a spreadsheet sums them, and a negative change is
    not taken for a formula), options as JSON."""
    values = []
    for name in DATA_FIELDS:
        value = cue["data"].get(name)
        if value in (None, "", {}):
            values.append("")
        elif name in ("price", "change_pct"):
            values.append(Decimal(str(value)))
        elif name == "options":
            values.append(json.dumps(value, ensure_ascii=False))
        else:
            values.append(value)
    return [cue["day"], cue["at"], cue["action"], *values]


def export_rows() -> list[list[Any]]:
    """Every cue, by day then time, with how it stands."""
    rows = []
    for cue in live.ordered(list(Cue.objects.all())):
        rows.append(
            [
                *_cells(cue),
                cue["status"],
                event_time_text(cue["due_at"]),
                event_time_text(cue["fired_at"]),
                cue["reason"],
            ]
        )
    return rows


def template_rows(now: datetime | None = None) -> list[list[Any]]:
    """One example of each action, on the next day to open, tomorrow (event time), for the first
    company: a file that imports as it is."""
    now = now or timezone.now()
    tomorrow = (timezone.localtime(now) + timedelta(days=1)).date()
    last = TradingDay.objects.filter(opened_at__isnull=False).order_by("-number").values_list("number", flat=True)
    day = (last.first() or 0) + 1
    company = Company.objects.filter(is_active=True).order_by("ticker").first() or Company.objects.first()
    ticker = company.ticker if company else "ACME"
    name = company.name if company else "Acme"
    examples = [
        ("open", f"{tomorrow:%Y-%m-%d} 09:00", {}),
        ("scene", "09:05", {"scene": "leaderboard", "options": {"top": 10}}),
        (
            "news",
            "09:20",
            {
                "title": f"{name} wins a large government contract",
                "content": f"{name} will supply the new schools programme for the next three years.",
            },
        ),
        ("price", "09:21", {"ticker": ticker, "price": "12.50"}),
        ("price", "+01:30:00", {"ticker": ticker, "change_pct": "-5"}),
        ("note", "+02:45:00", {"text": "Tell the teams: 15 minutes to the end bell."}),
        ("close", "+03:00:00", {}),
    ]
    return [_cells({"day": day, "at": at, "action": action, "data": data}) for action, at, data in examples]


HOW_TO = [
    ["column", "what to write"],
    ["day", "The trading day's number: 1, 2, 3…"],
    [
        "at",
        "When, in event time: a date and time (2026-12-08 09:20), a clock time (09:20, on the date of the "
        "day's open row, or today when it has none) or an offset from the day's start bell, whenever it "
        "rings (+00:45:00). An open row needs a date and time or a clock time.",
    ],
    ["action", "open, close, news, price, scene or note."],
    ["title, content", "news: the headline and the article."],
    ["ticker, price, change_pct", "price: the company's ticker and either the new price or the change in % (-5)."],
    ["scene, options", "scene: market, leaderboard, news, countdown, movers, schools or podium; options as JSON."],
    ["text", "note: a reminder for the host (nothing happens on screen)."],
    [
        "",
        "An import replaces the planned cues of each day it has a row for; cues already fired stay. "
        "Nothing is imported while any row has an error: every bad row is listed. Check a file first "
        "with a dry run (admin) or `manage.py rehearse_run_sheet FILE`.",
    ],
]


def csv_bytes(headers: list[str] | tuple[str, ...], rows: list[list[Any]]) -> bytes:
    """UTF-8 with a BOM (Excel on Windows reads accents right), every text cell inert: an offset
    is written '+00:45:00, which the import reads back as +00:45:00."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([inert(header) for header in headers])
    for row in rows:
        writer.writerow([inert(value) for value in row])
    return ("\ufeff" + out.getvalue()).encode()


def xlsx_bytes(
    headers: list[str] | tuple[str, ...], rows: list[list[Any]], *, title: str, notes: list[list[str]] | None = None
) -> bytes:
    """One sheet (and a sheet of notes): every text cell inert, but `at`, which the rules wrote and
    which is stored as text (no spreadsheet program runs a text cell), so that +00:45:00 reads as it
    is; the `at` column is formatted as text, so that a time typed there stays as typed."""
    from openpyxl import Workbook  # on first use: slow to import (organisers.spreadsheets)
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append([inert(header) for header in headers])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    at = list(headers).index("at")
    for row in rows:
        sheet.append(
            [value if index == at and _offset_text(value) else inert(value) for index, value in enumerate(row)]
        )
    letter = sheet.cell(row=1, column=at + 1).column_letter
    sheet.column_dimensions[letter].number_format = "@"
    for cells in sheet.iter_rows(min_row=2, min_col=at + 1, max_col=at + 1):
        for cell in cells:
            cell.data_type, cell.number_format = "s", "@"
    if "price" in headers:
        price = list(headers).index("price") + 1
        for cells in sheet.iter_rows(min_row=2, min_col=price, max_col=price):
            cells[0].number_format = "0.00"  # 12.50, as the price is written
    for index, header in enumerate(headers, start=1):
        widest = max([len(str(header)), *(len(str(row[index - 1])) for row in rows)])
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = min(max(widest + 2, 8), 60)
    sheet.freeze_panes = "A2"
    if notes:
        page = book.create_sheet("How to fill it")
        for line in notes:
            page.append([inert(value) for value in line])
        page["A1"].font = page["B1"].font = Font(bold=True)
        page.column_dimensions["A"].width, page.column_dimensions["B"].width = 26, 110
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _offset_text(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"\+[0-9:]+", value) is not None


FORMATS = ("xlsx", "csv")
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


def download(kind: str, file_format: str, *, now: datetime | None = None) -> HttpResponse:
    """The export (`kind` "export") or the template ("template") as a file to download."""
    now = now or timezone.now()
    if kind == "export":
        headers, rows, stem = EXPORT_COLUMNS, export_rows(), f"run-sheet-{event_time(now):%Y-%m-%d-%H%M}"
        notes = None
    else:
        headers, rows, stem = IMPORT_COLUMNS, template_rows(now), "run-sheet-template"
        notes = HOW_TO
    if file_format == "csv":
        response = HttpResponse(csv_bytes(headers, rows), content_type=CSV_CONTENT_TYPE)
    else:
        response = HttpResponse(
            xlsx_bytes(headers, rows, title="Run sheet", notes=notes), content_type=XLSX_CONTENT_TYPE
        )
    response["Content-Disposition"] = f'attachment; filename="{stem}.{file_format}"'
    return response

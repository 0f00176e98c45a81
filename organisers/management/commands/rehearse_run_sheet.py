"""`manage.py rehearse_run_sheet FILE [--now "YYYY-MM-DD HH:MM"]`: a run sheet checked against the
event as an import would check it, its timeline printed day by day; nothing is written."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from organisers.imports import ImportInvalid
from organisers.runsheet.sheet import Report, run_sheet_import
from organisers.runsheet.times import DATETIME, BadTime, event_time_text, parse_at
from organisers.spreadsheets import SpreadsheetRefused


class Command(BaseCommand):
    help = (
        "Check a run sheet (.xlsx or .csv) against the event without importing it: every row, and the "
        "timeline it makes, day by day in event time. Exit status 1 when any row is bad."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The run sheet (.xlsx or .csv).")
        parser.add_argument(
            "--now",
            help=f'Rehearse as of this moment, in event time ({settings.EVENT_TIMEZONE}): "2026-12-08 07:30". '
            "Times before it count as past. Default: now.",
        )

    def handle(self, *args, file: str, now: str | None, **options):
        moment = _moment(now) if now else None
        path = Path(file)
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from exc
        self.stdout.write(
            f"Rehearsing {path.name} as of {event_time_text(moment) if moment else 'now'} "
            f"({settings.EVENT_TIMEZONE}); nothing is written."
        )
        try:
            report = run_sheet_import(content=content, filename=path.name, dry_run=True, now=moment)
        except SpreadsheetRefused as refusal:
            raise CommandError(refusal.detail) from refusal
        except ImportInvalid as refusal:
            for error in refusal.errors:
                self.stderr.write(f"  row {error['row']}, {error['column']}: {error['message']}")
            rows = len({error["row"] for error in refusal.errors})
            raise CommandError(
                f"{rows} row{'s' if rows != 1 else ''} of {path.name} ha{'ve' if rows != 1 else 's'} errors: "
                "fix them before importing the file."
            ) from refusal
        self._timeline(report)

    def _timeline(self, report: Report) -> None:
        lines = [(entry, _when(entry)) for entry in report.timeline]
        width = max(len(when) for _entry, when in lines)
        for day in report.days:
            self.stdout.write("")
            self.stdout.write(self.style.MIGRATE_HEADING(f"Day {day}"))
            for entry, when in (line for line in lines if line[0]["day"] == day):
                self.stdout.write(f"  {when:<{width}}  {entry['action']:<6} {entry['summary']}  (row {entry['row']})")
        self.stdout.write("")
        for warning in report.warnings:
            self.stdout.write(self.style.WARNING(f"Warning: {warning}"))
        if report.passed_over:
            self.stdout.write(f"{report.passed_over} rows of cues already fired, skipped or failed are passed over.")
        days = ", ".join(str(day) for day in report.days)
        self.stdout.write(
            self.style.SUCCESS(
                f"Every row is valid: {report.created} cues for day{'s' if len(report.days) > 1 else ''} {days}. "
                f"Importing the file would replace the {report.replaced} planned cues of "
                f"{'these days' if len(report.days) > 1 else 'that day'}; cues already fired stay."
            )
        )


def _moment(text: str):
    try:
        at = parse_at(text)
    except BadTime:
        at = None
    if at is None or at.form != DATETIME:
        raise CommandError(f'--now: write a date and time in event time, like "2026-12-08 07:30"; not {text!r}.')
    return at.moment


def _when(entry: dict) -> str:
    if entry["due_at"]:
        return entry["due_at"]
    when = f"{entry['at']} after the start bell"
    return f"{when} (about {entry['expected_at']})" if entry["expected_at"] else when

"""`manage.py import_participants FILE`: teams from a spreadsheet, as the admin and the API import them."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from common.problems import DomainError
from market.models import EventSettings
from organisers.imports import credentials_workbook, participants_import


class Command(BaseCommand):
    help = "Import teams from an .xlsx or .csv file (email, team name, school, password, starting cash)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The spreadsheet (.xlsx or .csv).")
        parser.add_argument("--dry-run", action="store_true", help="Check every row and report; write nothing.")
        parser.add_argument(
            "--credentials",
            help="Where to write the logins this import sets (XLSX). Default: team-logins-<time>.xlsx here.",
        )

    def handle(self, *args, file: str, dry_run: bool, credentials: str | None, **options):
        path = Path(file)
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from exc
        try:
            report = participants_import(
                content=content, filename=path.name, dry_run=dry_run, by=None, progress=self._progress
            )
        except DomainError as refusal:
            for error in sorted(refusal.errors or [], key=lambda e: (e["row"], e["column"])):
                self.stderr.write(f"  row {error['row']}, {error['column']}: {error['message']}")
            raise CommandError(refusal.detail) from refusal
        verb = "Would create" if dry_run else "Created"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {report.created} and {'would update' if dry_run else 'updated'} {report.updated} teams "
                f"in {report.seconds:.1f} s."
            )
        )
        if report.credentials:
            target = Path(credentials or f"team-logins-{timezone.localtime():%Y%m%d-%H%M%S}.xlsx")
            target.write_bytes(credentials_workbook(report, event_name=EventSettings.load().name))
            self.stdout.write(f"Logins for {len(report.credentials)} teams written to {target} (keep it safe).")

    def _progress(self, done: int, total: int) -> None:
        if done == total or done % 100 == 0:
            self.stderr.write(f"\r  hashing passwords: {done}/{total}", ending="")
            if done == total:
                self.stderr.write("")
            sys.stderr.flush()

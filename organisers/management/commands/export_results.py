from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from organisers.results import results_workbook


class Command(BaseCommand):
    help = (
        "Write the results workbook (.xlsx): final leaderboard, each team's value by day, "
        "every transaction, closing prices by day."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Where to write the workbook, e.g. results.xlsx.")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if path.suffix.lower() != ".xlsx":
            raise CommandError("The file name must end in .xlsx.")
        if path.is_dir():
            raise CommandError(f"{path} is a folder; give a file name.")
        content = results_workbook()
        try:
            path.write_bytes(content)
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
        self.stdout.write(self.style.SUCCESS(f"Wrote {path} ({len(content):,} bytes)."))

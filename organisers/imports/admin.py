"""The admin's team import (django-import-export: upload, preview, confirm) runs the same import:
the preview is a dry run of `import_sheet`; a confirmed file of more than IMPORT_JOB_ROWS rows runs
as a job (organisers/admin/teams.py), and its preview says so."""

from django.conf import settings
from django.core.exceptions import ValidationError
from import_export import resources
from import_export.fields import Field
from import_export.results import RowResult

from common.problems import DomainError
from market.models import EventSettings
from organisers.imports.write import import_sheet
from organisers.resources import SpreadsheetResult
from organisers.spreadsheets import Sheet


class ParticipantImportResource(resources.Resource):
    """Teams for the admin's two-step import; the preview is a dry run of `import_sheet`."""

    email = Field(column_name="email")
    display_name = Field(column_name="display_name (or team)")
    school = Field(column_name="school")
    password = Field(column_name="password (generated when empty)")
    starting_cash = Field(column_name="starting_cash (the event's when empty)")

    class Meta:
        name = "Teams"

    @classmethod
    def get_display_name(cls) -> str:
        return "Teams"

    def import_data(self, dataset, dry_run=False, raise_errors=False, use_transactions=None, **kwargs):
        numbers = getattr(dataset, "row_numbers", None) or range(2, len(dataset) + 2)
        sheet = Sheet(
            headers=[str(header or "") for header in dataset.headers or []],
            rows=[(number, [str(cell or "") for cell in row]) for number, row in zip(numbers, dataset, strict=False)],
        )
        result = SpreadsheetResult()
        result.diff_headers = ["Row", "E-mail", "Team", "School", "Starting cash", "Password"]
        try:
            report = import_sheet(
                sheet=sheet, filename=kwargs.get("file_name") or "", dry_run=dry_run, by=kwargs.get("user")
            )
        except DomainError as refusal:
            by_row: dict[int, dict[str, list[str]]] = {}
            for error in refusal.errors or []:
                by_row.setdefault(error["row"], {}).setdefault(error["column"], []).append(error["message"])
            cells = dict(sheet.rows)
            for number, problems in sorted(by_row.items()):
                values = sheet.headers if number == 1 else cells.get(number, [])
                result.append_invalid_row(number, dict(enumerate(values)), ValidationError(problems))
            if not by_row:
                result.append_invalid_row(0, {}, ValidationError(refusal.detail))
            return result
        cash_default = EventSettings.load().starting_cash
        for row in report.rows:
            outcome = RowResult()
            outcome.import_type = RowResult.IMPORT_TYPE_NEW if row.team is None else RowResult.IMPORT_TYPE_UPDATE
            if row.password:
                password = "from the file"
            elif row.team is None:
                password = "generated"
            else:
                password = "unchanged"
            cash = (
                row.starting_cash
                if row.starting_cash is not None
                else (row.team.starting_cash if row.team is not None else cash_default)
            )
            outcome.diff = [row.number, row.email, row.display_name, row.school, f"{cash:,.2f}", password]
            result.append_row_result(outcome)
            result.increment_row_result_total(outcome)
        result.import_report = report
        result.runs_as_job = dry_run and len(report.rows) > settings.IMPORT_JOB_ROWS
        return result

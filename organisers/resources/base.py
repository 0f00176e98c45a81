"""django-import-export's resources, made the product's: imports that go through the services, all
or nothing, reported by spreadsheet row (the header is row 1), column and reason; exports that
keep numbers as numbers and times in the event time zone (`organisers.spreadsheets` makes every
text cell inert)."""

from datetime import datetime
from typing import Any

import tablib
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.module_loading import import_string
from import_export import resources
from import_export.results import Result, RowResult

from accounts.models import User
from common.logs import activity
from common.problems import DomainError
from organisers.cells import cell_text, event_time, header_key
from organisers.spreadsheets import SpreadsheetRefused, read_sheet

# Results


class SpreadsheetResult(Result):
    """An import result that reports problems by spreadsheet row and column."""

    def row_errors(self):
        # The base class numbers errors by position among the reported rows; use the row numbers.
        return [(row.number, row.errors) for row in self.error_rows]

    def problems(self) -> list[dict]:
        """Every problem as {row, column, message}, by row (row None: the whole file)."""
        found: list[dict] = []
        for error in self.base_errors:
            found.append({"row": None, "column": None, "message": str(error.error)})
        for row in self.invalid_rows:
            for column, texts in row.error_dict.items():
                name = None if column == NON_FIELD_ERRORS else column
                found.extend({"row": row.number, "column": name, "message": text} for text in texts)
        for row in self.error_rows:
            for error in row.errors:
                found.append({"row": row.number, "column": None, "message": str(error.error)})
        return sorted(found, key=lambda problem: problem["row"] or 0)


def import_report(result: Result, *, dry_run: bool) -> dict:
    """The import report of SPEC §4: `{dry_run, created, updated, unchanged, errors}`."""
    problems = result.problems() if isinstance(result, SpreadsheetResult) else []
    failed = bool(problems) or result.has_errors() or result.has_validation_errors()
    return {
        "dry_run": dry_run,
        "created": 0 if failed else result.totals["new"],
        "updated": 0 if failed else result.totals["update"],
        "unchanged": 0 if failed else result.totals["skip"],
        "errors": problems,
    }


def import_file(
    resource_class: type[resources.Resource], *, content: bytes, filename: str, by: User | None, dry_run: bool = False
) -> dict:
    """Read an uploaded .csv/.xlsx and import it with `resource_class`; the import report.

    Raises SpreadsheetRefused when the file is no spreadsheet we can read (nothing imported).
    """
    sheet = read_sheet(content, filename)
    dataset = sheet.as_dataset()
    result = resource_class().import_data(dataset, dry_run=dry_run, user=by)
    return import_report(result, dry_run=dry_run)


# Resources


class NativeExportMixin:
    """Cells as values, not text: numbers stay numbers, times are event-time datetimes."""

    def export_field(self, field, instance, **kwargs):
        method = getattr(self, f"dehydrate_{self.get_field_name(field)}", None)
        value = method(instance) if method is not None else field.get_value(instance)
        if isinstance(value, datetime):
            return event_time(value)
        return value


class SpreadsheetResource(NativeExportMixin, resources.ModelResource):
    """An import that goes through the services, all or nothing, reported by spreadsheet row.

    Subclasses list their `required_columns` and `aliases`, find the existing row in
    `get_instance`, read a row in `clean_row` (setting the new values on the instance and
    returning the changes, or raising ValidationError keyed by column) and save it through the
    services in `persist`. Fields marked `readonly` are exported only; on import they are ignored.
    """

    required_columns: tuple[str, ...] = ()
    aliases: dict[str, str] = {}
    # Service errors name model fields; the report names columns.
    column_of_field: dict[str, str] = {}

    @classmethod
    def get_result_class(cls):
        return SpreadsheetResult

    def get_import_fields(self):
        return [field for field in super().get_import_fields() if not field.readonly]

    def import_columns(self) -> list[str]:
        return [field.column_name for field in self.get_import_fields()]

    def export_only_columns(self) -> list[str]:
        return [field.column_name for field in self.fields.values() if field.readonly]

    def import_data(
        self,
        dataset,
        dry_run=False,
        raise_errors=False,
        use_transactions=None,
        collect_failed_rows=False,
        rollback_on_validation_errors=False,
        **kwargs,
    ):
        # Always in one transaction, rolled back on any bad row: at the preview and at the
        # confirmed import alike (data may have changed in between).
        return super().import_data(
            dataset,
            dry_run=dry_run,
            raise_errors=raise_errors,
            use_transactions=True,
            collect_failed_rows=collect_failed_rows,
            rollback_on_validation_errors=True,
            **kwargs,
        )

    def _check_import_id_fields(self, headers):
        # before_import checks the headers and reports a missing column by row and column.
        pass

    def before_import(self, dataset: tablib.Dataset, **kwargs) -> None:
        self._file_problems: list[tuple[str | None, str]] = []
        self._seen: dict[Any, int] = {}
        columns = self.import_columns()
        known = columns + self.export_only_columns()
        headers: list[str] = []
        for position, raw in enumerate(dataset.headers or [], start=1):
            key = header_key(raw)
            key = self.aliases.get(key, key)
            if not key:
                self._file_problems.append((None, f"Column {position} has no name in the header row."))
            elif key not in known:
                self._file_problems.append(
                    (str(raw), f"Unknown column “{raw}”. The columns are: {', '.join(columns)}.")
                )
            elif key in headers:
                self._file_problems.append((key, f"The column {key} appears twice."))
            headers.append(key)
        for column in self.required_columns:
            if column not in headers:
                self._file_problems.append((column, f"The column {column} is missing."))

        numbers = list(getattr(dataset, "row_numbers", None) or range(2, len(dataset) + 2))
        blank = {index for index, row in enumerate(dataset) if not any(cell_text(cell) for cell in row)}
        if len(blank) == len(dataset) and not self._file_problems:
            self._file_problems.append((None, "The file has no rows below the header."))
        if self._file_problems:
            del dataset[:]  # nothing to import: the header is wrong
            self._row_numbers: list[int] = []
            return
        dataset.headers = headers
        for index in sorted(blank, reverse=True):
            del dataset[index]
        self._row_numbers = [number for index, number in enumerate(numbers) if index not in blank]

    def after_import(self, dataset, result, **kwargs):
        # import-export numbers rows 1, 2, … in the dataset; report the spreadsheet's numbers.
        for row in result.invalid_rows:
            row.number = self._spreadsheet_row(row.number)
        for row in result.error_rows:
            row.number = self._spreadsheet_row(row.number)
            for error in row.errors:
                error.number = row.number
        for column, message in self._file_problems:
            result.append_invalid_row(1, {}, ValidationError({column or NON_FIELD_ERRORS: [message]}))
        if not (kwargs.get("dry_run", True) or result.has_errors() or result.has_validation_errors()):
            user = kwargs.get("user")
            totals = {kind: count for kind, count in result.totals.items() if count}
            activity(
                "import",
                f"{self._meta.model._meta.verbose_name_plural} imported: {totals}",
                kind=self._meta.model._meta.model_name,
                added=result.totals.get(RowResult.IMPORT_TYPE_NEW, 0),
                updated=result.totals.get(RowResult.IMPORT_TYPE_UPDATE, 0),
                by_user_id=user.pk if user is not None else None,
            )  # written once the import commits; a preview rolls back and writes nothing
        super().after_import(dataset, result, **kwargs)

    def _spreadsheet_row(self, position: int | None) -> int | None:
        if position is None or not 1 <= position <= len(self._row_numbers):
            return position
        return self._row_numbers[position - 1]

    def import_instance(self, instance, row, **kwargs):
        number = self._spreadsheet_row(kwargs.get("row_number"))
        values = {column: cell_text(row[column]) for column in self.import_columns() if column in row}
        instance._sheet_changes = {}
        instance._sheet_changes = self.clean_row(instance, values, number=number)

    def remember(self, key: Any, column: str, number: int | None, errors: dict) -> None:
        """Refuse a second row for the same thing in one file."""
        if key in self._seen:
            errors[column] = f"This is already on row {self._seen[key]}."
        else:
            self._seen[key] = number

    def skip_row(self, instance, original, row, import_validation_errors=None):
        # An existing row the file leaves as it is: nothing is saved, audited or announced.
        return not import_validation_errors and not instance._state.adding and not instance._sheet_changes

    def save_instance(self, instance, is_create, row, **kwargs):
        by = kwargs.get("user")
        try:
            self.persist(instance, is_create=is_create, changes=instance._sheet_changes, by=by)
        except DomainError as exc:
            errors = {self.column_of_field.get(name, name): messages for name, messages in (exc.errors or {}).items()}
            raise ValidationError(errors or {NON_FIELD_ERRORS: [exc.detail]}) from exc
        except IntegrityError as exc:  # someone else saved the same key meanwhile
            clash = "This row clashes with data saved meanwhile; try again."
            raise ValidationError({NON_FIELD_ERRORS: [clash]}) from exc

    def clean_row(self, instance, values: dict[str, str], *, number: int | None) -> dict:
        raise NotImplementedError

    def persist(self, instance, *, is_create: bool, changes: dict, by: User | None) -> None:
        raise NotImplementedError


# Admin integration


class SpreadsheetAdminMixin:
    """For ModelAdmins with import-export: readable refusals, a report by row and column, and
    CSV that Excel opens as UTF-8."""

    import_template_name = "admin/spreadsheets/import.html"
    to_encoding = "utf-8-sig"  # the BOM tells Excel the CSV is UTF-8 (team names with accents)

    @property
    def formats(self):
        # Settings name the formats by dotted path (settings cannot import app code), but
        # import-export's admin calls each entry as a class.
        return [import_string(item) if isinstance(item, str) else item for item in settings.IMPORT_EXPORT_FORMATS]

    def add_success_message(self, result, request):
        # The confirm step runs the import again; the data may have changed since the preview (a
        # team took a name meanwhile). Then nothing was imported, and the organiser must know why.
        problems = result.problems() if isinstance(result, SpreadsheetResult) else []
        if problems or result.has_errors() or result.has_validation_errors():
            listed = "; ".join(
                f"row {problem['row'] or '—'}, {problem['column'] or 'file'}: {problem['message']}"
                for problem in problems[:5]
            )
            more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            messages.error(request, f"Nothing was imported. {listed}{more}")
            return
        super().add_success_message(result, request)

    def process_import(self, request, **kwargs):
        # A second "Confirm import" (the back button, a double click): the upload was used and
        # removed by the first. Said in words, nothing imported twice.
        try:
            return super().process_import(request, **kwargs)
        except SpreadsheetRefused as refusal:
            messages.error(request, f"Nothing was imported by this click: {refusal.detail} Was it confirmed already?")
            opts = self.model._meta
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, SpreadsheetRefused):
            form.add_error("import_file", e.detail)
        else:
            super().add_data_read_fail_error_to_form(form, e)

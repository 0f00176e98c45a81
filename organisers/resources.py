"""Spreadsheet import and export (django-import-export): companies in and out; teams,
transactions and the leaderboard out.

Imports run every row through the services (history, revaluation, audit and live events happen
as anywhere else) inside one transaction: a file with any bad row imports nothing, and every bad
row is reported with its spreadsheet row number (the header is row 1), its column and the reason.
Headers are read case-insensitively, with a few common aliases.

Exports give numbers as numbers and times in the event time zone; the formats in
`organisers.spreadsheets` make every text cell inert (no spreadsheet program runs it as a formula).
"""

import json
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import tablib
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError
from django.utils import timezone
from django.utils.module_loading import import_string
from import_export import resources, widgets
from import_export.fields import Field
from import_export.results import Result, RowResult

from accounts.models import User
from common.logs import activity
from common.problems import DomainError
from market import selectors
from market.models import MAX_PRICE, TICKER_PATTERN, Company, Participant, Transaction
from market.services import company_create, company_edit, company_prices_lock
from organisers.spreadsheets import FORMULA_STARTS, SpreadsheetRefused, read_sheet

# Cells


class CellError(ValueError):
    """A cell that cannot be read; the message is shown to the organiser beside row and column."""


def event_time(value: datetime | None) -> datetime | None:
    """A time for a spreadsheet: in the event time zone, to the second, without a zone (Excel has none)."""
    if value is None:
        return None
    return timezone.localtime(value, ZoneInfo(settings.EVENT_TIMEZONE)).replace(tzinfo=None, microsecond=0)


def header_key(header: Any) -> str:
    """`Ticker`, ` TICKER `, `Previous price` → `ticker`, `ticker`, `previous_price`."""
    return re.sub(r"[\s\-]+", "_", str(header or "").strip().lower())


def cell_text(value: Any) -> str:
    """A cell as stripped text. A leading apostrophe that our exports put before a formula-like
    text is dropped again, so an exported file imports back unchanged."""
    text = "" if value is None else str(value).strip()
    if text.startswith("'") and text[1:2] and text[1:2] in FORMULA_STARTS:
        return text[1:]
    return text


def parse_amount(text: str) -> Decimal:
    """A positive amount with at most two decimals: `12`, `12.5`, `12.50`."""
    if not re.fullmatch(r"\d+(\.\d+)?", text):
        raise CellError(f"“{text[:30]}” is not an amount: write a positive number like 12.50 (a dot for decimals).")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid decimals
        raise CellError(f"“{text[:30]}” is not an amount.") from exc
    if amount != amount.quantize(Decimal("0.01")):
        raise CellError(f"{text} has more than 2 decimals.")
    if amount <= 0:
        raise CellError("The amount must be above 0.")
    if amount > MAX_PRICE:
        raise CellError("The amount is too large (at most 999,999,999,999.99).")
    return amount.quantize(Decimal("0.01"))


TRUE_WORDS = {"true", "yes", "y", "1", "ya", "on"}
FALSE_WORDS = {"false", "no", "n", "0", "tidak", "off"}


def parse_bool(text: str) -> bool:
    word = text.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellError(f"“{text[:30]}” is not yes or no: write TRUE or FALSE.")


def _no_constant(name: str):
    raise ValueError(f"{name} is not allowed")


def parse_json_object(text: str) -> dict:
    """A JSON object such as {"2024": {"revenue": 1200}}; nothing else (no list, no number, no NaN)."""
    example = 'Write a JSON object, for example {"2024": {"revenue": 1200, "profit": 150}}.'
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise CellError(f"This is not valid JSON. {example}") from exc
    if not isinstance(value, dict):
        raise CellError(f"This is JSON but not an object. {example}")
    return value


def parse_event_datetime(text: str) -> datetime:
    """`2025-03-01 09:30`, `2025-03-01T09:30:00`, `2025-03-01` (midnight), with or without an offset;
    without one, the time is in the event time zone."""
    from django.utils.dateparse import parse_date, parse_datetime

    try:
        value = parse_datetime(text)
        if value is None and (day := parse_date(text)) is not None:
            value = datetime(day.year, day.month, day.day)
    except ValueError:
        value = None
    if value is None:
        raise CellError(
            f"“{text[:30]}” is not a date and time: write it like 2025-03-01 09:30 "
            f"({settings.EVENT_TIMEZONE} time), or leave it empty."
        )
    if timezone.is_naive(value):
        value = value.replace(tzinfo=ZoneInfo(settings.EVENT_TIMEZONE))
    return value


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


class CompanyResource(SpreadsheetResource):
    """Companies with prices and financials, updated by ticker (any case)."""

    ticker = Field(attribute="ticker", column_name="ticker", widget=widgets.CharWidget())
    name = Field(attribute="name", column_name="name", widget=widgets.CharWidget())
    description = Field(attribute="description", column_name="description", widget=widgets.CharWidget())
    price = Field(attribute="current_price", column_name="price", widget=widgets.DecimalWidget())
    previous_price = Field(attribute="previous_price", column_name="previous_price", widget=widgets.DecimalWidget())
    is_active = Field(attribute="is_active", column_name="is_active", widget=widgets.BooleanWidget())
    financials = Field(attribute="financials", column_name="financials", widget=widgets.JSONWidget())

    required_columns = ("ticker",)
    aliases = {
        "symbol": "ticker",
        "company": "name",
        "company_name": "name",
        "current_price": "price",
        "previous_close": "previous_price",
        "last_close": "previous_price",
        "active": "is_active",
    }
    column_of_field = {"current_price": "price"}

    class Meta:
        model = Company
        name = "Companies"
        fields = ("ticker", "name", "description", "price", "previous_price", "is_active", "financials")
        import_id_fields = ["ticker"]

    def before_import(self, dataset: tablib.Dataset, **kwargs) -> None:
        # Several prices in one transaction: every company's price lock first, in one order,
        # so a trade holding one company cannot wait on a team that this import has locked.
        company_prices_lock()
        super().before_import(dataset, **kwargs)

    def get_queryset(self):
        return Company.objects.order_by("ticker")

    def get_instance(self, instance_loader, row):
        ticker = cell_text(row.get("ticker")).upper()
        return Company.objects.filter(ticker=ticker).first() if ticker else None

    def dehydrate_financials(self, company: Company) -> str:
        return json.dumps(company.financials or {}, cls=DjangoJSONEncoder, ensure_ascii=False)

    def clean_row(self, company: Company, values: dict[str, str], *, number: int | None) -> dict:
        new = company._state.adding
        errors: dict[str, str] = {}
        wanted: dict[str, Any] = {}

        ticker = values.get("ticker", "").upper()
        if not ticker:
            errors["ticker"] = "The ticker is empty."
        elif not re.fullmatch(TICKER_PATTERN, ticker):
            errors["ticker"] = f"“{ticker[:30]}” is not a ticker: use 1 to 10 letters, digits or dots."
        else:
            self.remember(ticker, "ticker", number, errors)
            if new:
                wanted["ticker"] = ticker

        if "name" in values:
            if not values["name"]:
                errors["name"] = "The name is empty."
            elif len(values["name"]) > 200:
                errors["name"] = "The name is longer than 200 characters."
            else:
                wanted["name"] = values["name"]
        elif new:
            errors["name"] = "A new company needs a name: add a name column."

        if "description" in values:
            wanted["description"] = values["description"]

        for column, field in (("price", "current_price"), ("previous_price", "previous_price")):
            text = values.get(column, "")
            if not text:
                if column == "price" and (new or column in values):
                    errors[column] = "The price is empty." if column in values else "A new company needs a price."
                continue
            try:
                wanted[field] = parse_amount(text)
            except CellError as exc:
                errors[column] = str(exc)

        if values.get("is_active"):
            try:
                wanted["is_active"] = parse_bool(values["is_active"])
            except CellError as exc:
                errors["is_active"] = str(exc)

        if "financials" in values:
            try:
                wanted["financials"] = parse_json_object(values["financials"]) if values["financials"] else {}
            except CellError as exc:
                errors["financials"] = str(exc)

        if errors:
            raise ValidationError(errors)
        changes = wanted if new else {name: value for name, value in wanted.items() if getattr(company, name) != value}
        for name, value in changes.items():
            setattr(company, name, value)  # the preview shows the new values
        return changes

    def persist(self, company: Company, *, is_create: bool, changes: dict, by: User | None) -> None:
        if is_create:
            created = company_create(
                by=by,
                ticker=changes["ticker"],
                name=changes["name"],
                current_price=changes["current_price"],
                previous_price=changes.get("previous_price"),
                description=changes.get("description", ""),
                financials=changes.get("financials") or {},
                is_active=changes.get("is_active", True),
            )
            company.pk, company.created_at = created.pk, created.created_at
            company.previous_price = created.previous_price
            company._state.adding = False
            return
        company_edit(company=Company.objects.get(pk=company.pk), by=by, **changes)


class ParticipantExportResource(NativeExportMixin, resources.ModelResource):
    """Every team with its money (export only; the import is organisers.imports)."""

    email = Field(attribute="user__email", column_name="email")
    display_name = Field(attribute="display_name", column_name="display_name")
    school = Field(attribute="school", column_name="school")
    starting_cash = Field(attribute="starting_cash", column_name="starting_cash")
    cash = Field(attribute="cash", column_name="cash")
    portfolio_value = Field(attribute="portfolio_value", column_name="portfolio_value")
    trade_count = Field(attribute="trade_count", column_name="trade_count")
    is_frozen = Field(attribute="is_frozen", column_name="is_frozen")

    class Meta:
        model = Participant
        name = "Teams"
        fields = (
            "email",
            "display_name",
            "school",
            "starting_cash",
            "cash",
            "portfolio_value",
            "trade_count",
            "is_frozen",
        )

    def get_queryset(self):
        return Participant.objects.order_by("display_name")

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("user")


TRANSACTION_COLUMNS = (
    "team",
    "ticker",
    "type",
    "quantity",
    "price",
    "total",
    "fee",
    "day",
    "created_at",
    "reversed_at",
)


class TransactionResource(NativeExportMixin, resources.ModelResource):
    """Every trade (export only). Teams by name only: no e-mail addresses in a file that travels.
    A reversed trade is listed with its `reversed_at`: it counts nowhere."""

    team = Field(attribute="participant__display_name", column_name="team")
    ticker = Field(attribute="company__ticker", column_name="ticker")
    type = Field(attribute="type", column_name="type")
    quantity = Field(attribute="quantity", column_name="quantity")
    price = Field(attribute="price", column_name="price")
    total = Field(attribute="total", column_name="total")
    fee = Field(attribute="fee", column_name="fee")
    day = Field(attribute="day", column_name="day")
    created_at = Field(attribute="created_at", column_name="created_at")
    reversed_at = Field(attribute="reversed_at", column_name="reversed_at")

    class Meta:
        model = Transaction
        name = "Transactions"
        fields = TRANSACTION_COLUMNS

    def get_queryset(self):
        return Transaction.objects.order_by("created_at", "id")

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("participant", "company")


LEADERBOARD_COLUMNS = ("rank", "display_name", "school", "total_value", "return_pct", "trades")


class LeaderboardResource(NativeExportMixin, resources.Resource):
    """The whole leaderboard, ranked (export only). Ranks are the event's: whatever rows a
    changelist shows, the export ranks every team."""

    rank = Field(column_name="rank")
    display_name = Field(column_name="display_name")
    school = Field(column_name="school")
    total_value = Field(column_name="total_value")
    return_pct = Field(column_name="return_pct")
    trades = Field(column_name="trades")

    class Meta:
        export_order = LEADERBOARD_COLUMNS

    @classmethod
    def get_display_name(cls) -> str:  # the export form's choice (ModelResource has it, Resource not)
        return "Leaderboard"

    def get_queryset(self):
        return selectors.leaderboard()

    def export(self, queryset=None, **kwargs):
        return super().export(queryset=selectors.leaderboard(), **kwargs)

    def export_resource(self, instance, selected_fields=None, **kwargs):
        entry = selectors.leaderboard_entry(instance)
        return [entry[field.column_name] for field in self.get_export_fields(selected_fields)]


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

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, SpreadsheetRefused):
            form.add_error("import_file", e.detail)
        else:
            super().add_data_read_fail_error_to_form(form, e)

"""Companies in and out of spreadsheets, by ticker: every row through the services
(`company_create`, `company_edit`), all in one transaction."""

import json
import re
from typing import Any

import tablib
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from import_export import widgets
from import_export.fields import Field

from accounts.models import User
from market.models import TICKER_PATTERN, Company
from market.services import company_create, company_edit, company_prices_lock
from organisers.cells import CellError, cell_text, parse_amount, parse_bool, parse_json_object
from organisers.resources.base import SpreadsheetResource


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
        self._read_ticker(values, new, number, wanted, errors)
        self._read_name(values, new, wanted, errors)
        if "description" in values:
            wanted["description"] = values["description"]
        self._read_prices(values, new, wanted, errors)
        readers = {"is_active": parse_bool, "financials": lambda text: parse_json_object(text) if text else {}}
        for column, read in readers.items():
            if column in values and (values[column] or column == "financials"):
                try:
                    wanted[column] = read(values[column])
                except CellError as exc:
                    errors[column] = str(exc)
        if errors:
            raise ValidationError(errors)
        changes = wanted if new else {name: value for name, value in wanted.items() if getattr(company, name) != value}
        for name, value in changes.items():
            setattr(company, name, value)  # the preview shows the new values
        return changes

    def _read_ticker(self, values: dict, new: bool, number, wanted: dict, errors: dict) -> None:
        ticker = values.get("ticker", "").upper()
        if not ticker:
            errors["ticker"] = "The ticker is empty."
        elif not re.fullmatch(TICKER_PATTERN, ticker):
            errors["ticker"] = f"“{ticker[:30]}” is not a ticker: use 1 to 10 letters, digits or dots."
        else:
            self.remember(ticker, "ticker", number, errors)
            if new:
                wanted["ticker"] = ticker

    @staticmethod
    def _read_name(values: dict, new: bool, wanted: dict, errors: dict) -> None:
        if "name" not in values:
            if new:
                errors["name"] = "A new company needs a name: add a name column."
        elif not values["name"]:
            errors["name"] = "The name is empty."
        elif len(values["name"]) > 200:
            errors["name"] = "The name is longer than 200 characters."
        else:
            wanted["name"] = values["name"]

    @staticmethod
    def _read_prices(values: dict, new: bool, wanted: dict, errors: dict) -> None:
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

"""The admin of the market: the event's settings, companies, trades, prices, days, audit entries,
prepared prices."""

import json

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from import_export.admin import ExportMixin, ImportExportMixin

from market.models import (
    AuditEntry,
    Company,
    DailyValue,
    EventSettings,
    IdempotencyRecord,
    PricePoint,
    TradingDay,
    Transaction,
)
from market.money import percent
from market.services import (
    company_create,
    company_edit,
)
from organisers.admin.base import AuditedAdmin, ReadOnlyAdmin
from organisers.resources import (
    CompanyResource,
    SpreadsheetAdminMixin,
    TransactionResource,
)
from organisers.results import results_response


@admin.register(EventSettings)
class EventSettingsAdmin(AuditedAdmin):
    fields = [
        "name",
        "starting_cash",
        "lot_size",
        "buy_fee_rate",
        "sell_fee_rate",
        "max_open_orders",
        "leaderboard_visible",
        "signup_open",
        "updated_at",
    ]  # not the overlay token: it changes only by a rotation (control room), which also closes the old one's overlays
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        # One row: go straight to it.
        settings = EventSettings.load()
        return HttpResponseRedirect(reverse("admin:market_eventsettings_change", args=[settings.pk]))


@admin.register(Company)
class CompanyAdmin(SpreadsheetAdminMixin, ImportExportMixin, AuditedAdmin):
    # Import: by ticker, through company_create / company_update / price_set (organisers.resources).
    resource_classes = [CompanyResource]
    list_display = ["ticker", "name", "current_price", "previous_price", "change_pct", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["ticker", "name"]
    readonly_fields = ["created_at", "updated_at"]
    fields = ["ticker", "name", "description", "financials", "current_price", "previous_price", "is_active"]

    def get_readonly_fields(self, request, obj=None):
        # The previous price is the last close: only the closing bell moves it.
        if obj is not None:
            return [*self.readonly_fields, "previous_price"]
        return self.readonly_fields

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is None and "previous_price" in form.base_fields:
            form.base_fields["previous_price"].required = False
            form.base_fields["previous_price"].help_text = "Leave empty to use the current price."
        return form

    def save_model(self, request, obj, form, change):
        # Prices go through the services: history row, holders revalued, audit entry.
        data = form.cleaned_data
        if not change:
            created = company_create(
                by=request.user,
                ticker=data["ticker"],
                name=data["name"],
                description=data.get("description", ""),
                financials=data.get("financials") or {},
                current_price=data["current_price"],
                previous_price=data.get("previous_price"),
                is_active=data.get("is_active", True),
            )
            obj.pk = created.pk
            obj._state.adding = False
            obj.refresh_from_db()
            return
        editable = ["ticker", "name", "description", "financials", "is_active", "current_price"]
        changes = {name: data[name] for name in editable if name in form.changed_data}
        company_edit(company=Company.objects.get(pk=obj.pk), by=request.user, **changes)
        obj.refresh_from_db()

    @admin.display(description="change %")
    def change_pct(self, company: Company) -> str:
        return f"{percent(company.current_price - company.previous_price, company.previous_price):+}%"


@admin.register(Transaction)
class TransactionAdmin(SpreadsheetAdminMixin, ExportMixin, ReadOnlyAdmin):
    list_display = [
        "created_at",
        "participant",
        "type",
        "company",
        "quantity",
        "price",
        "total",
        "fee",
        "day",
        "reversed_at",
    ]
    list_filter = ["type", "day", "company", ("reversed_at", admin.EmptyFieldListFilter)]
    search_fields = ["participant__display_name", "participant__user__email", "company__ticker", "id"]
    list_select_related = ["participant", "company"]
    date_hierarchy = "created_at"

    # Export: the trades shown (filters apply); and the results workbook of the whole event.
    resource_classes = [TransactionResource]
    import_export_change_list_template = "admin/spreadsheets/transaction_change_list.html"

    def get_urls(self):
        results = path(
            "results.xlsx", self.admin_site.admin_view(self.results_download), name="market_transaction_results"
        )
        return [results, *super().get_urls()]

    def results_download(self, request):
        if not (self.has_view_permission(request) and self.has_export_permission(request)):
            raise PermissionDenied
        return results_response()


@admin.register(PricePoint)
class PricePointAdmin(ReadOnlyAdmin):
    list_display = ["at", "company", "price", "day"]
    list_filter = ["company", "day"]
    search_fields = ["company__ticker", "company__name"]
    list_select_related = ["company"]
    date_hierarchy = "at"


@admin.register(TradingDay)
class TradingDayAdmin(AuditedAdmin):
    """The days as the bells and the run sheet made them. A day's open and close times are its
    run-sheet cues' (one place to change a timed action): shown here, changed there."""

    list_display = ["number", "scheduled_open_at", "scheduled_close_at", "opened_at", "closed_at", "status"]
    readonly_fields = ["scheduled_open_at", "scheduled_close_at", "opened_at", "closed_at"]
    fields = ["number", "scheduled_open_at", "scheduled_close_at", "opened_at", "closed_at"]

    def get_readonly_fields(self, request, obj=None):
        # A day that has opened has trades and values under its number: it stays as it was.
        if obj is not None and obj.opened_at is not None:
            return ["number", *self.readonly_fields]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return obj is None or obj.opened_at is None

    @admin.display(description="status")
    def status(self, day: TradingDay) -> str:
        if day.is_open:
            return "open"
        return "closed" if day.closed_at else "not started"


@admin.register(DailyValue)
class DailyValueAdmin(ReadOnlyAdmin):
    list_display = ["day", "participant", "value", "cash", "at"]
    list_filter = ["day"]
    search_fields = ["participant__display_name"]
    list_select_related = ["participant"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "action", "target", "before_after"]
    list_filter = ["action"]
    search_fields = ["action", "target", "actor__email"]
    list_select_related = ["actor"]
    date_hierarchy = "at"

    @admin.display(description="before → after")
    def before_after(self, entry: AuditEntry) -> str:
        old, new = entry.data.get("old"), entry.data.get("new")
        if old is None and new is None:
            return ""
        text = f"{json.dumps(old, ensure_ascii=False)} → {json.dumps(new, ensure_ascii=False)}"
        return text if len(text) <= 160 else text[:159] + "…"


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "participant", "key", "status_code"]
    list_filter = ["status_code"]
    search_fields = ["participant__display_name", "key"]
    list_select_related = ["participant"]

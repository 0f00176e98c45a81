import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from import_export.admin import ExportMixin, ImportExportMixin, ImportMixin

from accounts.models import Role, User
from common.read_cache import AREAS, reads_changed
from market.models import (
    AuditEntry,
    CashAdjustment,
    Company,
    DailyValue,
    EventSettings,
    Holding,
    IdempotencyRecord,
    Participant,
    PricePoint,
    ScheduledPrice,
    TradingDay,
    Transaction,
)
from market.money import percent
from market.services import (
    audit,
    company_create,
    company_edit,
    participant_create,
    participant_freeze,
    participant_rename,
)
from organisers.cells import event_time
from organisers.imports import ParticipantImportResource, credentials_keep, credentials_pending, credentials_take
from organisers.resources import (
    CompanyResource,
    LeaderboardResource,
    ParticipantExportResource,
    SpreadsheetAdminMixin,
    TransactionResource,
)
from organisers.results import results_response
from organisers.spreadsheets import XLSX_CONTENT_TYPE, SafeXLSX


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the trade engine and the services: visible, never hand-edited."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class AuditedAdmin(admin.ModelAdmin):
    """Rows an organiser edits by hand (the event's rules, day schedules, prepared prices): each
    save and delete goes into the audit log with the values before and after."""

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        fields = sorted(form.changed_data)
        model = type(obj)
        before = model.objects.filter(pk=obj.pk).values(*fields).first() if change and fields else None
        if change:
            # Only what the form changed: another column (the overlay token, say) may have moved since.
            if fields:
                stamped = [f.name for f in model._meta.concrete_fields if getattr(f, "auto_now", False)]
                obj.save(update_fields=[*fields, *stamped])
        else:
            super().save_model(request, obj, form, change)
        name = model._meta.model_name
        if not change:
            new = {field: getattr(obj, field) for field in fields}
            audit(by=request.user, action=f"{name}_create", target=f"{name}:{obj.pk}", new=new)
        elif fields:
            new = {field: getattr(obj, field) for field in fields}
            audit(by=request.user, action=f"{name}_update", target=f"{name}:{obj.pk}", old=before or {}, new=new)
        reads_changed(*AREAS)  # a hand edit (a day's schedule, say) may show in any of them

    @transaction.atomic
    def delete_model(self, request, obj):
        name = type(obj)._meta.model_name
        audit(by=request.user, action=f"{name}_delete", target=f"{name}:{obj.pk}", old={"repr": str(obj)})
        super().delete_model(request, obj)
        reads_changed(*AREAS)

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        for obj in queryset:
            name = type(obj)._meta.model_name
            audit(by=request.user, action=f"{name}_delete", target=f"{name}:{obj.pk}", old={"repr": str(obj)})
        super().delete_queryset(request, queryset)
        reads_changed(*AREAS)


@admin.register(EventSettings)
class EventSettingsAdmin(AuditedAdmin):
    fields = [
        "name",
        "starting_cash",
        "lot_size",
        "buy_fee_rate",
        "sell_fee_rate",
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


class HoldingInline(admin.TabularInline):
    model = Holding
    fields = ["company", "quantity", "average_cost"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Participant)
class ParticipantAdmin(SpreadsheetAdminMixin, ImportMixin, ExportMixin, AuditedAdmin):
    list_display = [
        "display_name",
        "school",
        "email",
        "cash",
        "portfolio_value",
        "trade_count",
        "is_frozen",
        "created_at",
    ]
    list_filter = ["is_frozen", "school"]
    search_fields = ["display_name", "school", "user__email"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    inlines = [HoldingInline]
    readonly_fields = ["cash", "portfolio_value", "trade_count", "last_trade_at", "created_at", "updated_at"]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "display_name", "school", "starting_cash"]
        return ["user", "display_name", "school", "is_frozen", "starting_cash", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # Cash moves only through trades and logged adjustments.
        return [*self.readonly_fields, "user", "starting_cash"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            # A team's account: a participant that has no team yet (never an organiser's).
            kwargs["queryset"] = User.objects.filter(role=Role.PARTICIPANT, participant__isnull=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "starting_cash" and field is not None:
            field.required = False
            field.help_text = "Leave empty for the event's starting cash."
        return field

    def save_model(self, request, obj, form, change):
        if change:
            # Only what this form edits: cash and values may have moved since the form was read.
            if {"display_name", "school"} & set(form.changed_data):
                participant_rename(participant=obj, display_name=obj.display_name, school=obj.school, by=request.user)
            if "is_frozen" in form.changed_data:
                participant_freeze(participant=obj, frozen=form.cleaned_data["is_frozen"], by=request.user)
            return
        created = participant_create(
            user=obj.user,
            display_name=obj.display_name,
            school=obj.school,
            starting_cash=form.cleaned_data.get("starting_cash"),
            by=request.user,
        )
        obj.pk = created.pk
        obj._state.adding = False
        obj.refresh_from_db()

    @admin.display(description="e-mail", ordering="user__email")
    def email(self, participant: Participant) -> str:
        return participant.user.email

    # Export: the teams, or the whole leaderboard (also one click away as an .xlsx).
    import_export_change_list_template = "admin/spreadsheets/participant_change_list.html"

    def get_export_resource_classes(self, request):
        return [ParticipantExportResource, LeaderboardResource]

    # Import: the teams of a spreadsheet (organisers/imports.py), previewed, then confirmed; the logins
    # it set are a sheet to download once.
    skip_admin_log = True  # the audit log records each import

    def get_import_resource_classes(self, request):
        return [ParticipantImportResource]

    def changelist_view(self, request, extra_context=None):
        token = credentials_pending(request.user)
        if token is not None:
            pending = reverse("admin:market_participant_credentials", args=[token])
            extra_context = {**(extra_context or {}), "pending_logins": pending}
        return super().changelist_view(request, extra_context)

    def add_success_message(self, result, request):
        report = getattr(result, "import_report", None)
        if report is None:
            super().add_success_message(result, request)
            return
        text = f"Import finished: {report.created} new, {report.updated} updated teams in {report.seconds:.1f} s."
        token = credentials_keep(report, event_name=EventSettings.load().name, owner=request.user)
        if token is None:
            messages.success(request, text)
            return
        link = reverse("admin:market_participant_credentials", args=[token])
        messages.success(
            request,
            format_html(
                '{} <a href="{}">Download the logins of {} teams</a> (once, within 30 minutes; print it).',
                text,
                link,
                len(report.credentials),
            ),
        )

    def get_urls(self):
        leaderboard = path(
            "leaderboard.xlsx",
            self.admin_site.admin_view(self.leaderboard_download),
            name="market_participant_leaderboard",
        )
        credentials = path(
            "credentials/<slug:token>/",
            self.admin_site.admin_view(self.credentials_download),
            name="market_participant_credentials",
        )
        return [leaderboard, credentials, *super().get_urls()]

    def credentials_download(self, request, token: str):
        if not self.has_import_permission(request):
            raise PermissionDenied
        download = credentials_take(token)
        if download is None:
            raise Http404("These logins were already downloaded, or the link expired.")
        return download

    def leaderboard_download(self, request):
        if not (self.has_view_permission(request) and self.has_export_permission(request)):
            raise PermissionDenied
        content = SafeXLSX().export_data(LeaderboardResource().export())  # every text cell inert
        response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
        stamp = f"{event_time(timezone.now()):%Y-%m-%d-%H%M}"
        response["Content-Disposition"] = f'attachment; filename="leaderboard-{stamp}.xlsx"'
        return response


@admin.register(Holding)
class HoldingAdmin(ReadOnlyAdmin):
    list_display = ["participant", "company", "quantity", "average_cost"]
    list_filter = ["company"]
    search_fields = ["participant__display_name", "company__ticker"]
    list_select_related = ["participant", "company"]


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
    list_display = ["number", "scheduled_open_at", "scheduled_close_at", "opened_at", "closed_at", "status"]
    readonly_fields = ["opened_at", "closed_at"]
    fields = ["number", "scheduled_open_at", "scheduled_close_at", "opened_at", "closed_at"]

    def get_readonly_fields(self, request, obj=None):
        # A day that has opened has trades and values under its number: it stays as it was.
        if obj is not None and obj.opened_at is not None:
            return ["number", "scheduled_open_at", "scheduled_close_at", "opened_at", "closed_at"]
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


@admin.register(CashAdjustment)
class CashAdjustmentAdmin(ReadOnlyAdmin):
    list_display = ["at", "participant", "amount", "reason", "by"]
    search_fields = ["participant__display_name", "reason"]
    list_select_related = ["participant", "by"]
    date_hierarchy = "at"


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "participant", "key", "status_code"]
    list_filter = ["status_code"]
    search_fields = ["participant__display_name", "key"]
    list_select_related = ["participant"]


@admin.register(ScheduledPrice)
class ScheduledPriceAdmin(AuditedAdmin):
    """Price changes prepared for a time; the scheduler applies each once, through price_set."""

    list_display = ["at", "company", "price", "applied_at"]
    list_filter = ["company", ("applied_at", admin.EmptyFieldListFilter)]
    search_fields = ["company__ticker", "company__name"]
    list_select_related = ["company"]
    autocomplete_fields = ["company"]
    fields = ["company", "price", "at", "applied_at", "created_by"]
    readonly_fields = ["applied_at", "created_by"]

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None or obj.applied_at is None  # what already happened stays as it was

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

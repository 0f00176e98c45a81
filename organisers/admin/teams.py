"""The admin of teams: the teams themselves (import, export, the logins sheet), their holdings and
cash adjustments."""

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from import_export.admin import ExportMixin, ImportMixin

from accounts.models import Role, User
from market.models import (
    CashAdjustment,
    EventSettings,
    Holding,
    Participant,
)
from market.services import (
    participant_create,
    participant_freeze,
    participant_rename,
)
from organisers.admin.base import AuditedAdmin, ReadOnlyAdmin
from organisers.admin.jobs import job_start_page
from organisers.cells import event_time
from organisers.imports import ParticipantImportResource, credentials_keep, credentials_pending, credentials_take
from organisers.models import JobKind
from organisers.resources import (
    LeaderboardResource,
    ParticipantExportResource,
    SpreadsheetAdminMixin,
)
from organisers.spreadsheets import XLSX_CONTENT_TYPE, SafeXLSX


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
    # it set are a sheet to download once. A confirmed file of more than IMPORT_JOB_ROWS rows goes
    # to a worker (a password takes a while each, Argon2), and the organiser to its job's page.
    skip_admin_log = True  # the audit log records each import

    def get_import_resource_classes(self, request):
        return [ParticipantImportResource]

    def process_dataset(self, dataset, form, request, **kwargs):
        if len(dataset) <= settings.IMPORT_JOB_ROWS:
            return super().process_dataset(dataset, form, request, **kwargs)
        # The file as uploaded (the preview kept it in the tmp storage), for the worker to read.
        storage = self.get_tmp_storage_class()(
            name=form.cleaned_data["import_file_name"], read_mode="rb", **self.get_tmp_storage_class_kwargs()
        )
        return job_start_page(
            request,
            kind=JobKind.TEAM_IMPORT,
            back=reverse("admin:market_participant_changelist"),
            content=storage.read(),
            filename=form.cleaned_data.get("original_file_name") or "",
        )

    def process_result(self, result, request):
        if isinstance(result, HttpResponseRedirect):  # a job started (process_dataset): its page
            return result
        return super().process_result(result, request)

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


@admin.register(CashAdjustment)
class CashAdjustmentAdmin(ReadOnlyAdmin):
    list_display = ["at", "participant", "amount", "reason", "by"]
    search_fields = ["participant__display_name", "reason"]
    list_select_related = ["participant", "by"]
    date_hierarchy = "at"

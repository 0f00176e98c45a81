"""The admin of the run sheet (SPEC §6b): its cues listed, added, changed and deleted through the
run sheet's services (checked by the same rules as the API and an import, audited, shown live),
a cue no longer planned kept as the record; the import page (a dry run showing the timeline,
then the import), the template and the export."""

import json
import secrets

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from common.problems import DomainError
from organisers.admin.base import ReadOnlyAdmin
from organisers.imports import ImportInvalid
from organisers.models import Broadcast, Cue, CueAction, CueStatus, RunSheet
from organisers.runsheet import services, sheet
from organisers.runsheet.rules import DATA_FIELDS, MAX_DAY, SCENES, companies_by_ticker, place, planned_cues, propose
from organisers.runsheet.times import duration_text, event_time_text
from organisers.spreadsheets import SpreadsheetRefused, max_bytes

UPLOAD_SECONDS = 60 * 60  # a checked file waits this long for its import


class CueForm(forms.ModelForm):
    """A cue's fields as an import's columns: day, at, action and the action's own, checked by the
    run sheet's rules (rules.propose, rules.place), each error beside its field."""

    day = forms.IntegerField(min_value=1, max_value=MAX_DAY, help_text="The trading day's number: 1, 2, 3…")
    at = forms.CharField(
        max_length=32,
        label="At",
        help_text="Event time: 2026-12-08 09:20, or 09:20 (on the date of the day's open), "
        "or +00:45:00 (after the day's start bell, whenever it rings).",
    )
    title = forms.CharField(required=False, max_length=300)
    content = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5}))
    ticker = forms.CharField(required=False, max_length=12)
    price = forms.CharField(required=False, max_length=20, help_text="The new price, e.g. 12.50…")
    change_pct = forms.CharField(
        required=False, max_length=20, label="Change %", help_text="…or a change in %, e.g. -5 or 2.5 (not both)."
    )
    scene = forms.ChoiceField(required=False, choices=[("", "—"), *((name, name) for name in SCENES)])
    options = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text='A JSON object, e.g. {"top": 5}.'
    )
    text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Note")

    class Meta:
        model = Cue
        fields = ["day", "at", "action"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            for name in DATA_FIELDS:
                value = self.instance.data.get(name)
                if value not in (None, "", {}):
                    self.initial[name] = json.dumps(value) if name == "options" else value
        self.raw: dict = {}

    def clean(self):
        cleaned = super().clean()
        raw = {name: cleaned.get(name) for name in ("day", "at", "action", *DATA_FIELDS)}
        if raw["options"]:
            raw["options"] = sheet.read_options(raw["options"])
        proposed = propose(raw, companies_by_ticker())
        except_ids = {self.instance.pk} if self.instance.pk is not None else set()
        place([proposed], keep=planned_cues(except_ids=except_ids))
        for name, problems in proposed.errors.items():
            if name not in self.errors:  # the field's own check spoke first
                self.add_error(name if name in self.fields else None, problems)
        if proposed.action in (CueAction.OPEN, CueAction.CLOSE) and "action" not in self.errors:
            # rules.place lets a day have two planned bells; an import refuses it, and so does this form.
            other = (
                Cue.objects.filter(status=CueStatus.PLANNED, day=proposed.day, action=proposed.action)
                .exclude(pk=self.instance.pk)
                .first()
            )
            if other is not None:
                verb = "opens" if proposed.action == CueAction.OPEN else "closes"
                self.add_error("action", f"Day {proposed.day} already {verb} at {other.at} (another planned cue).")
        self.raw = raw
        return cleaned


class CueImportForm(forms.Form):
    file = forms.FileField(label="Run sheet (.xlsx or .csv)")


class CueStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return CueStatus.choices

    def queryset(self, request, queryset):
        return queryset.filter(status=self.value()) if self.value() else queryset


EDIT_FIELDSETS = [
    (None, {"fields": ["day", "at", "action"]}),
    ("News", {"fields": ["title", "content"], "description": "For a news cue: published when it fires."}),
    (
        "Price",
        {"fields": ["ticker", "price", "change_pct"], "description": "For a price cue: a new price or a change in %."},
    ),
    ("Scene", {"fields": ["scene", "options"], "description": "For a scene cue: taken on the full-scene overlay."}),
    ("Note", {"fields": ["text"], "description": "For a note: a reminder for the host, nothing on screen."}),
]
RECORD_FIELDS = [
    "day",
    "at",
    "action",
    "what",
    "data_fields",
    "status",
    "due",
    "fired_at",
    "late",
    "reason",
    "outcome",
    "undone_at",
    "news",
    "created_by",
]


@admin.register(Cue)
class CueAdmin(admin.ModelAdmin):
    form = CueForm
    list_display = ["day", "at", "due", "action", "what", "status", "fired_at", "reason"]
    list_display_links = ["day", "at"]
    list_filter = ["day", "action", CueStatusFilter]
    search_fields = ["data__title", "data__ticker", "data__text"]
    ordering = ["day", "due_at", "position"]
    list_per_page = 200  # a day's script on one page
    actions = ["delete_planned"]
    change_list_template = "admin/organisers/cue/change_list.html"

    # A cue no longer planned is the record: read-only, never deleted.

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and (obj is None or obj.status == CueStatus.PLANNED)

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and (obj is None or obj.status == CueStatus.PLANNED)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return EDIT_FIELDSETS
        if obj.status != CueStatus.PLANNED:
            return [(None, {"fields": RECORD_FIELDS})]
        return [*EDIT_FIELDSETS, ("State", {"fields": ["status", "due"]})]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != CueStatus.PLANNED:
            return RECORD_FIELDS
        return ["status", "due"] if obj is not None else []

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    # Columns

    @admin.display(description="due (event time)", ordering="due_at")
    def due(self, cue: Cue) -> str:
        if cue.due_at is not None:
            return event_time_text(cue.due_at)
        return f"{cue.at} after the start bell" if cue.status == CueStatus.PLANNED else "—"

    @admin.display(description="what")
    def what(self, cue: Cue) -> str:
        return sheet.summary(cue.action, cue.data)

    @admin.display(description="fields")
    def data_fields(self, cue: Cue) -> str:
        return json.dumps(cue.data, ensure_ascii=False, indent=1) if cue.data else "—"

    @admin.display(description="late by")
    def late(self, cue: Cue) -> str:
        return duration_text(cue.late_by) or "—"

    @admin.display(description="what it did")
    def outcome(self, cue: Cue) -> str:
        return json.dumps(cue.result, ensure_ascii=False) if cue.result else "—"

    # Writing: through the run sheet's services, which check again under the run sheet's lock.

    def save_model(self, request, obj, form, change):
        if change:
            services.cue_update(cue=obj, by=request.user, changes=form.raw)
        else:
            cue = services.cue_create(by=request.user, raw=form.raw)
            obj.pk = cue.pk
            obj._state.adding = False
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        services.cue_delete(cue=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for cue in queryset:
            try:
                services.cue_delete(cue=cue, by=request.user)
            except services.CueFired:  # it fired while the organiser confirmed
                messages.warning(request, f"Not deleted, because it fired meanwhile: {cue}.")

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as refusal:  # the cue fired, or the timeline moved, since the form was checked
            messages.error(request, f"Not saved: {refusal.detail} {_field_errors(refusal)}".strip())
            return HttpResponseRedirect(request.get_full_path())

    @admin.action(description="Delete selected planned cues", permissions=["delete"])
    def delete_planned(self, request, queryset):
        done = queryset.exclude(status=CueStatus.PLANNED).count()
        if done and "post" not in request.POST:
            messages.warning(request, f"{done} of the selected cues are no longer planned: they stay, as the record.")
        planned = queryset.filter(status=CueStatus.PLANNED)
        if not planned.exists():
            return None
        return delete_selected(self, request, planned)

    # The spreadsheets

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name="organisers_cue_import"),
            path("<str:kind>.<str:file_format>", wrap(self.download_view), name="organisers_cue_download"),
            *super().get_urls(),
        ]

    def download_view(self, request, kind: str, file_format: str):
        if kind not in ("export", "template") or file_format not in sheet.FORMATS:
            raise Http404("No such file.")
        if not self.has_view_permission(request):
            raise PermissionDenied
        return sheet.download(kind, file_format)

    def import_view(self, request):
        """Upload → a dry run (the timeline it would make, or every bad row) → import."""
        if not (self.has_add_permission(request) and self.has_delete_permission(request)):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Import run sheet",
            "opts": self.model._meta,
            "form": CueImportForm(),
            "max_mb": f"{max_bytes() / 1_000_000:g}",
        }
        if request.method == "POST" and "token" in request.POST:
            upload = cache.get(_upload_key(request.POST["token"]))
            if upload is None or upload["owner"] != str(request.user.pk):
                messages.error(request, "The checked file has expired: upload it again.")
                return TemplateResponse(request, "admin/organisers/cue/import.html", context)
            try:
                report = sheet.run_sheet_import(content=upload["content"], filename=upload["filename"], by=request.user)
            except (ImportInvalid, SpreadsheetRefused) as refusal:
                return self._import_page(request, context, refusal=refusal)
            cache.delete(_upload_key(request.POST["token"]))
            messages.success(request, _imported(report))
            return HttpResponseRedirect(reverse("admin:organisers_cue_changelist"))
        if request.method == "POST":
            form = context["form"] = CueImportForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                if upload.size > max_bytes():
                    form.add_error("file", f"The file is larger than {context['max_mb']} MB.")
                else:
                    return self._check(request, context, upload)
        return TemplateResponse(request, "admin/organisers/cue/import.html", context)

    def _check(self, request, context: dict, upload) -> TemplateResponse:
        content = upload.read()
        try:
            report = sheet.run_sheet_import(content=content, filename=upload.name, dry_run=True)
        except (ImportInvalid, SpreadsheetRefused) as refusal:
            return self._import_page(request, context, refusal=refusal, filename=upload.name)
        token = secrets.token_urlsafe(16)
        cache.set(
            _upload_key(token),
            {"owner": str(request.user.pk), "content": content, "filename": upload.name},
            UPLOAD_SECONDS,
        )
        context.update(report=report, token=token, filename=upload.name, held=RunSheet.load().held_since)
        return TemplateResponse(request, "admin/organisers/cue/import.html", context)

    def _import_page(self, request, context: dict, *, refusal: DomainError, filename: str = "") -> TemplateResponse:
        problems = refusal.errors if isinstance(refusal.errors, list) else []
        context.update(refusal=refusal.detail, problems=problems, filename=filename)
        return TemplateResponse(request, "admin/organisers/cue/import.html", context)


def _imported(report: sheet.Report) -> str:
    several = len(report.days) > 1
    days = ", ".join(str(day) for day in report.days)
    text = f"Run sheet imported: {report.created} cues for day{'s' if several else ''} {days}"
    if report.replaced:
        text += f"; {report.replaced} planned cues of {'these days' if several else 'that day'} were replaced"
    return text + "."


def _upload_key(token: str) -> str:
    return f"run-sheet-import:{token}"


def _field_errors(refusal: DomainError) -> str:
    if not isinstance(refusal.errors, dict):
        return ""
    return " ".join(f"{name}: {' '.join(problems)}" for name, problems in refusal.errors.items())


@admin.register(RunSheet)
class RunSheetAdmin(ReadOnlyAdmin):
    """The run sheet's state (held, time held); held and resumed in the control room."""

    list_display = ["__str__", "held_since", "held_by", "shifted_by"]


@admin.register(Broadcast)
class BroadcastAdmin(ReadOnlyAdmin):
    """The scene on the stream; taken in the control room's director panel."""

    list_display = ["scene", "options", "taken_at", "taken_by"]

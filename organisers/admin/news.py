from django.contrib import admin, messages
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.utils import timezone
from import_export.admin import ImportExportMixin

from common.problems import DomainError
from newsroom.models import News
from organisers.models import Cue, CueAction, CueStatus
from organisers.resources import NewsResource, SpreadsheetAdminMixin
from organisers.runsheet.news import news_cue, news_remove, news_write


class NewsStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("draft", "Draft"), ("scheduled", "Scheduled"), ("published", "Published")]

    def queryset(self, request, queryset):
        now = timezone.now()
        cued = Cue.objects.filter(action=CueAction.NEWS, status=CueStatus.PLANNED, news__isnull=False).values("news")
        if self.value() == "draft":
            return queryset.filter(published_at__isnull=True).exclude(pk__in=cued)
        if self.value() == "scheduled":
            return queryset.filter(Q(published_at__gt=now) | Q(pk__in=cued))
        if self.value() == "published":
            return queryset.published(now)
        return queryset


@admin.register(News)
class NewsAdmin(SpreadsheetAdminMixin, ImportExportMixin, admin.ModelAdmin):
    # Import: by id (or title), through news_create / news_update (organisers.resources.news).
    resource_classes = [NewsResource]
    list_display = ["title", "shown_status", "published_at", "created_at"]
    list_filter = [NewsStatusFilter, "published_at"]
    search_fields = ["title", "content"]
    date_hierarchy = "published_at"
    readonly_fields = ["created_by", "announced_at", "created_at", "updated_at"]
    fields = ["title", "content", "published_at", "created_by", "announced_at", "created_at", "updated_at"]

    @admin.display(description="status")
    def shown_status(self, news: News) -> str:
        cue = news_cue(news)
        return f"scheduled (run sheet, day {cue.day})" if cue is not None else news.status

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.base_fields[
            "published_at"
        ].help_text = "Empty: draft. Now or past: published. Later: a cue of the run sheet publishes it then."
        return form

    def get_object(self, request, object_id, from_field=None):
        news = super().get_object(request, object_id, from_field)
        cue = news_cue(news) if news is not None else None
        if cue is not None:  # shown with the time its cue will publish it
            news.published_at = cue.due_at
        return news

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as refusal:  # its run-sheet cue refused the time or the words: nothing saved
            problems = " ".join(line for lines in (refusal.errors or {}).values() for line in lines)
            messages.error(request, f"Not saved: {problems or refusal.detail}")
            return HttpResponseRedirect(request.get_full_path())

    # Through the services, so publishing here goes out live like anywhere else, and a time still
    # to come goes to the run sheet.
    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            fields = {name: data[name] for name in ("title", "content", "published_at") if name in form.changed_data}
            news_write(news=News.objects.get(pk=obj.pk), by=request.user, **fields)
            obj.refresh_from_db()
            return
        created = news_write(
            news=None,
            by=request.user,
            title=data["title"],
            content=data["content"],
            published_at=data.get("published_at"),
        )
        obj.pk = created.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        news_remove(news=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        # "Delete selected": each through the service (audited), not one bare DELETE.
        for item in queryset:
            news_remove(news=item, by=request.user)

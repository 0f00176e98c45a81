from django.contrib import admin
from django.utils import timezone
from import_export.admin import ImportExportMixin

from newsroom.models import News
from newsroom.services import news_create, news_delete, news_update
from organisers.resources import NewsResource, SpreadsheetAdminMixin


class NewsStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("draft", "Draft"), ("scheduled", "Scheduled"), ("published", "Published")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "draft":
            return queryset.filter(published_at__isnull=True)
        if self.value() == "scheduled":
            return queryset.filter(published_at__gt=now)
        if self.value() == "published":
            return queryset.published(now)
        return queryset


@admin.register(News)
class NewsAdmin(SpreadsheetAdminMixin, ImportExportMixin, admin.ModelAdmin):
    # Import: by id (or title), through news_create / news_update (organisers.resources.news).
    resource_classes = [NewsResource]
    list_display = ["title", "status", "published_at", "created_at"]
    list_filter = [NewsStatusFilter, "published_at"]
    search_fields = ["title", "content"]
    date_hierarchy = "published_at"
    readonly_fields = ["created_by", "announced_at", "created_at", "updated_at"]
    fields = ["title", "content", "published_at", "created_by", "announced_at", "created_at", "updated_at"]

    # Through the services, so publishing here goes out live like anywhere else.
    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            fields = {name: data[name] for name in ("title", "content", "published_at") if name in form.changed_data}
            news_update(news=News.objects.get(pk=obj.pk), by=request.user, **fields)
            obj.refresh_from_db()
            return
        created = news_create(
            by=request.user, title=data["title"], content=data["content"], published_at=data.get("published_at")
        )
        obj.pk = created.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        news_delete(news=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        # "Delete selected": each through the service (audited), not one bare DELETE.
        for item in queryset:
            news_delete(news=item, by=request.user)

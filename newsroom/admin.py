from django.contrib import admin
from django.utils import timezone

from newsroom.models import News


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
            return queryset.filter(published_at__lte=now)
        return queryset


@admin.register(News)
class NewsAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "published_at", "created_at"]
    list_filter = [NewsStatusFilter, "published_at"]
    search_fields = ["title", "content"]
    date_hierarchy = "published_at"
    readonly_fields = ["created_by", "created_at", "updated_at"]
    fields = ["title", "content", "published_at", "created_by", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

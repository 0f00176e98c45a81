"""What the organisers' admin pages share: read-only pages, and every change audited."""

from django.contrib import admin
from django.db import transaction

from common.read_cache import AREAS, reads_changed
from market.services import audit


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

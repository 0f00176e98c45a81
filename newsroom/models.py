import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class NewsQuerySet(models.QuerySet):
    def published(self, now=None) -> "NewsQuerySet":
        """What participants may read: published, and not scheduled for later."""
        return self.filter(published_at__lte=now or timezone.now())

    def feed(self) -> "NewsQuerySet":
        """Published news, newest first: what every screen lists."""
        return self.published().order_by("-published_at", "-created_at")


class News(models.Model):
    """A news item. `published_at` NULL is a draft; in the future, scheduled."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.TextField()
    content = models.TextField()
    published_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="Empty: draft. In the future: scheduled."
    )
    announced_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the live `news` event went out (once)."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = NewsQuerySet.as_manager()

    class Meta:
        db_table = "news"
        ordering = ["-published_at", "-created_at"]
        verbose_name_plural = "news"

    def __str__(self) -> str:
        return self.title

    @property
    def status(self) -> str:
        if self.published_at is None:
            return "draft"
        return "scheduled" if self.published_at > timezone.now() else "published"

"""News in and out of spreadsheets: title, content, published_at (empty: draft; in the future:
scheduled, as a run-sheet cue). Through the newsroom services, so an item that is due goes out
live as it would from the admin form. Rows are matched by `id` when the file has one (an export
does), else by title."""

import copy
import uuid

from django.core.exceptions import ValidationError
from import_export import widgets
from import_export.fields import Field

from accounts.models import User
from newsroom.models import News
from organisers.cells import CellError, parse_event_datetime
from organisers.resources.base import SpreadsheetResource
from organisers.runsheet.news import news_write, scheduled_at

MAX_TITLE = 300  # as the API
MAX_CONTENT = 20_000


class NewsResource(SpreadsheetResource):
    id = Field(attribute="id", column_name="id", widget=widgets.CharWidget())
    title = Field(attribute="title", column_name="title", widget=widgets.CharWidget())
    content = Field(attribute="content", column_name="content", widget=widgets.CharWidget())
    published_at = Field(attribute="published_at", column_name="published_at", widget=widgets.DateTimeWidget())
    status = Field(attribute="status", column_name="status", readonly=True)

    required_columns = ("title",)
    aliases = {"headline": "title", "body": "content", "text": "content", "publish_at": "published_at"}

    class Meta:
        model = News
        name = "News"
        fields = ("id", "title", "content", "published_at", "status")
        import_id_fields = ["id"]

    def get_queryset(self):
        return News.objects.order_by("published_at", "created_at")

    def dehydrate_id(self, news: News) -> str:
        return str(news.pk)

    # An item waiting for its run-sheet cue goes out with the cue's time: a re-imported export
    # keeps it scheduled.
    def export_field(self, field, instance, **kwargs):
        at = scheduled_at(instance) if self.get_field_name(field) == "published_at" else None
        if at is not None:
            instance = copy.copy(instance)
            instance.published_at = at
        return super().export_field(field, instance, **kwargs)

    def dehydrate_status(self, news: News) -> str:
        return "scheduled" if scheduled_at(news) else news.status

    def get_instance(self, instance_loader, row):
        key = str(row.get("id") or "").strip()
        if key:
            try:
                pk = uuid.UUID(key)
            except ValueError as exc:
                message = "This is not an id from an export; leave it empty for a new item."
                raise ValidationError({"id": [message]}) from exc
            news = News.objects.filter(pk=pk).first()
            if news is None:
                raise ValidationError({"id": ["No news item has this id; leave it empty to add the item as new."]})
            return news
        title = str(row.get("title") or "").strip()
        if not title:
            return None
        matches = list(News.objects.filter(title=title)[:2])
        if len(matches) > 1:
            raise ValidationError(
                {"title": ["Several news items have this title: add the id column (export the news to get it)."]}
            )
        return matches[0] if matches else None

    def clean_row(self, news: News, values: dict[str, str], *, number: int | None) -> dict:
        new = news._state.adding
        errors: dict[str, str] = {}
        wanted: dict = {}

        title = values.get("title", "")
        if not title:
            errors["title"] = "The title is empty."
        elif len(title) > MAX_TITLE:
            errors["title"] = f"The title is longer than {MAX_TITLE} characters."
        else:
            wanted["title"] = title
            self.remember(("new", title) if new else news.pk, "title", number, errors)

        if "content" in values:
            content = values["content"]
            if not content:
                errors["content"] = "The content is empty."
            elif len(content) > MAX_CONTENT:
                errors["content"] = f"The content is longer than {MAX_CONTENT:,} characters."
            else:
                wanted["content"] = content
        elif new:
            errors["content"] = "A new item needs content: add a content column."

        if "published_at" in values:
            text = values["published_at"]
            try:
                wanted["published_at"] = parse_event_datetime(text) if text else None  # empty: a draft
            except CellError as exc:
                errors["published_at"] = str(exc)

        if errors:
            raise ValidationError(errors)
        if new:
            changes = wanted
        else:
            changes = {name: value for name, value in wanted.items() if not _same(getattr(news, name), value)}
        for name, value in changes.items():
            setattr(news, name, value)
        return changes

    def persist(self, news: News, *, is_create: bool, changes: dict, by: User | None) -> None:
        if is_create:  # a time still to come: a cue of the run sheet (organisers.runsheet.news)
            created = news_write(
                news=None,
                by=by,
                title=changes["title"],
                content=changes["content"],
                published_at=changes.get("published_at"),
            )
            news.pk, news.created_at, news.announced_at = created.pk, created.created_at, created.announced_at
            news._state.adding = False
            return
        news_write(news=News.objects.get(pk=news.pk), by=by, **changes)


def _same(stored, imported) -> bool:
    # Exports give times to the second: a re-imported export is no change.
    if hasattr(stored, "microsecond") and hasattr(imported, "microsecond"):
        return stored.replace(microsecond=0) == imported.replace(microsecond=0)
    return stored == imported

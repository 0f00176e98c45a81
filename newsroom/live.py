"""The newsroom's side of the live layer: the `news` event's data, and the latest news in the
snapshot of a connection subscribed to `news` (SPEC §5). Handed over at start-up (newsroom/apps.py)."""

from typing import Any

from common.read_cache import read_cached
from common.serializers import represent_many
from newsroom.models import News
from newsroom.selectors import feed_seconds
from newsroom.serializers import NewsSerializer
from overlay import domain

SNAPSHOT_NEWS = 5


def news(item: News) -> dict[str, Any]:
    return {"id": str(item.pk), "title": item.title, "published_at": item.published_at}


def latest_news() -> list[dict[str, Any]]:
    """The latest published news, as the feed shows them (from the read cache)."""
    return read_cached("news", "latest", _latest_news, seconds=feed_seconds)


def _latest_news() -> list[dict[str, Any]]:
    return represent_many(NewsSerializer, News.objects.feed()[:SNAPSHOT_NEWS])


def register() -> None:
    domain.snapshot_part("news", topic="news", build=lambda viewer: latest_news())

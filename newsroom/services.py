from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from common.read_cache import reads_changed
from market.services import audit
from newsroom.live import news as news_data
from newsroom.models import News
from overlay.events import broadcast


def _announce_if_due(news: News, now: datetime) -> None:
    """A news item goes out live once, when it becomes public."""
    if news.announced_at is None and news.published_at is not None and news.published_at <= now:
        News.objects.filter(pk=news.pk).update(announced_at=now)
        news.announced_at = now
        broadcast("news", news_data(news))


@transaction.atomic
def news_create(*, by: User | None, title: str, content: str, published_at: datetime | None = None) -> News:
    news = News.objects.create(title=title, content=content, published_at=published_at, created_by=by)
    reads_changed("news")
    audit(by=by, action="news_create", target=f"news:{news.pk}", status=news.status)
    _announce_if_due(news, timezone.now())
    return news


@transaction.atomic
def news_update(*, news: News, by: User | None, **changes) -> News:
    allowed = {"title", "content", "published_at"}
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"news_update() got unexpected fields {sorted(unknown)}")
    now = timezone.now()
    news = News.objects.select_for_update().get(pk=news.pk)  # the scheduler may have announced it meanwhile
    old = {name: getattr(news, name) for name in sorted(changes)}
    for name, value in changes.items():
        setattr(news, name, value)
    if news.published_at is None or news.published_at > now:
        news.announced_at = None  # back to draft or scheduled: it will be announced when public
    news.save()
    reads_changed("news")
    audit(
        by=by,
        action="news_update",
        target=f"news:{news.pk}",
        old=old,
        new=dict(sorted(changes.items())),
        status=news.status,
    )
    _announce_if_due(news, now)
    return news


@transaction.atomic
def news_delete(*, news: News, by: User | None) -> None:
    audit(by=by, action="news_delete", target=f"news:{news.pk}", title=news.title)
    news.delete()
    reads_changed("news")


def news_announce_due(*, now: datetime | None = None) -> list[News]:
    """Announce every news item whose time has come and that was not announced yet (scheduler)."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            News.objects.select_for_update(skip_locked=True)
            .filter(published_at__lte=now, announced_at__isnull=True)
            .order_by("published_at")
        )
        if due:
            reads_changed("news")  # before their events: a screen reads the feed on one
        for news in due:
            _announce_if_due(news, now)
    return due

from datetime import datetime

from django.db import transaction

from accounts.models import User
from market.services import audit
from newsroom.models import News


@transaction.atomic
def news_create(*, by: User | None, title: str, content: str, published_at: datetime | None = None) -> News:
    news = News.objects.create(title=title, content=content, published_at=published_at, created_by=by)
    audit(by=by, action="news_create", target=f"news:{news.pk}", status=news.status)
    return news


@transaction.atomic
def news_update(*, news: News, by: User | None, **changes) -> News:
    allowed = {"title", "content", "published_at"}
    for name, value in changes.items():
        if name not in allowed:
            raise TypeError(f"news_update() got an unexpected field {name!r}")
        setattr(news, name, value)
    news.save()
    audit(by=by, action="news_update", target=f"news:{news.pk}", fields=sorted(changes), status=news.status)
    return news


@transaction.atomic
def news_delete(*, news: News, by: User | None) -> None:
    audit(by=by, action="news_delete", target=f"news:{news.pk}", title=news.title)
    news.delete()

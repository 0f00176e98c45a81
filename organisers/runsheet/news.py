"""News given a time still to come, wherever an organiser gives it (the API, the admin form, a news
spreadsheet, the control room), waits in the run sheet as a cue: one timeline, one place its time
changes, and a hold holds it too. The item itself stays a draft until its cue publishes it."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from market.models import TradingDay
from newsroom.models import News
from newsroom.services import news_create, news_delete, news_update
from organisers.models import Cue, CueAction, CueStatus
from organisers.runsheet import services
from organisers.runsheet.times import event_time_text


def day_for(moment: datetime) -> int:
    """The trading day a moment falls in, as far as the run sheet knows: the open day until its
    close; else the last day still to open whose open comes before it; else the next day."""
    day = TradingDay.objects.filter(opened_at__isnull=False, closed_at__isnull=True).first()
    if day is not None and (day.scheduled_close_at is None or moment < day.scheduled_close_at):
        return day.number
    last = (
        TradingDay.objects.filter(opened_at__isnull=False).order_by("-number").values_list("number", flat=True).first()
    )
    upcoming = list(TradingDay.objects.filter(opened_at__isnull=True, number__gt=last or 0).order_by("number"))
    started = [day.number for day in upcoming if day.scheduled_open_at is not None and day.scheduled_open_at <= moment]
    if started:
        return started[-1]
    return upcoming[0].number if upcoming else (last or 0) + 1


def news_cue(news: News) -> Cue | None:
    return Cue.objects.filter(news=news, action=CueAction.NEWS, status=CueStatus.PLANNED).first()


def _raw(news: News, moment: datetime) -> dict:
    return {
        "day": day_for(moment),
        "at": event_time_text(moment),
        "action": CueAction.NEWS,
        "title": news.title,
        "content": news.content,
    }


@transaction.atomic
def news_write(*, news: News | None, by: User | None, **fields) -> News:
    """Create (`news` None) or change a news item. A `published_at` still to come makes (or moves)
    its cue and keeps the item a draft; a time now or past, or none, publishes it or makes it a
    draft as the newsroom does, and drops a cue it had."""
    services.run_sheet_lock()  # before the news item, as a firing takes them
    moment = fields.get("published_at")
    later = moment is not None and moment > timezone.now()
    if later:
        fields["published_at"] = None
    if news is None:
        news = news_create(by=by, **{"title": "", "content": "", **fields})
    elif fields:
        news = news_update(news=news, by=by, **fields)
    cue = news_cue(news)
    if later:
        raw = _raw(news, moment)
        if cue is None:
            cue = services.cue_create(by=by, raw=raw)
            Cue.objects.filter(pk=cue.pk).update(news=news)
        else:
            services.cue_update(cue=cue, by=by, changes=raw)
    elif cue is not None and ("published_at" in fields):
        services.cue_delete(cue=cue, by=by)
    elif cue is not None:  # the title or content changed: the cue carries them
        services.cue_update(cue=cue, by=by, changes={"title": news.title, "content": news.content})
    return news


def scheduled_at(news: News) -> datetime | None:
    cue = news_cue(news)
    return cue.due_at if cue is not None else None


@transaction.atomic
def news_remove(*, news: News, by: User | None) -> None:
    """Delete a news item, and its cue if it was still to come (it would publish it anew)."""
    services.run_sheet_lock()
    cue = news_cue(news)
    if cue is not None:
        services.cue_delete(cue=cue, by=by)
    news_delete(news=news, by=by)

"""What was scheduled before the run sheet becomes cues, nothing lost: each scheduled price change,
each day's scheduled open and close, and each news item scheduled for later (which waits as a
draft for its cue: the run sheet's hold holds it too)."""

from django.db import migrations
from django.utils import timezone


def _text(moment) -> str:
    local = timezone.localtime(moment)
    return local.strftime("%Y-%m-%d %H:%M:%S" if local.second else "%Y-%m-%d %H:%M")


def forwards(apps, schema_editor):
    Cue = apps.get_model("organisers", "Cue")
    ScheduledPrice = apps.get_model("market", "ScheduledPrice")
    TradingDay = apps.get_model("market", "TradingDay")
    News = apps.get_model("newsroom", "News")
    now = timezone.now()
    days = list(TradingDay.objects.order_by("number"))

    def day_for(moment) -> int:
        """The day a moment belongs to: the last that opened, or was to open, by then."""
        started = [
            day.number
            for day in days
            if (day.opened_at or day.scheduled_open_at) and (day.opened_at or day.scheduled_open_at) <= moment
        ]
        if started:
            return started[-1]
        unopened = [day.number for day in days if day.opened_at is None]
        return unopened[0] if unopened else (days[-1].number if days else 1)

    cues = []
    for day in days:
        for action, scheduled, done in (
            ("open", day.scheduled_open_at, day.opened_at),
            ("close", day.scheduled_close_at, day.closed_at),
        ):
            if scheduled is None:
                continue
            # A bell whose time passed while no scheduler ran (a deploy over it) stays planned: the
            # scheduler rings it late, or marks it failed with why (its whole session passed).
            cues.append(
                Cue(
                    day=day.number,
                    at=_text(scheduled),
                    due_at=scheduled,
                    action=action,
                    status="fired" if done else "planned",
                    fired_at=done,
                    result={"day": day.number} if done else {},
                )
            )
    for item in ScheduledPrice.objects.select_related("company").order_by("at", "pk"):
        applied = item.applied_at is not None
        cues.append(
            Cue(
                day=day_for(item.at),
                at=_text(item.at),
                due_at=item.at,
                action="price",
                data={"ticker": item.company.ticker, "price": str(item.price)},
                status="fired" if applied else "planned",
                fired_at=item.applied_at,
                result={"ticker": item.company.ticker, "price": str(item.price)} if applied else {},
                created_by_id=item.created_by_id,
            )
        )
    for news in News.objects.filter(published_at__gt=now, announced_at__isnull=True).order_by("published_at"):
        cues.append(
            Cue(
                day=day_for(news.published_at),
                at=_text(news.published_at),
                due_at=news.published_at,
                action="news",
                data={"title": news.title[:300], "content": news.content[:20_000]},
                news_id=news.pk,
                created_by_id=news.created_by_id,
            )
        )
        News.objects.filter(pk=news.pk).update(published_at=None)  # a draft until its cue fires
    cues.sort(key=lambda cue: (cue.due_at, cue.action != "open"))
    for position, cue in enumerate(cues, start=1):
        cue.position = position
    Cue.objects.bulk_create(cues)


def backwards(apps, schema_editor):
    """Planned price and news cues with a time go back to the schedules they came from (the days
    keep theirs). What had no place before the run sheet is dropped: a price given as a change in
    %, a cue waiting for its bell (an offset), notes and scenes."""
    Cue = apps.get_model("organisers", "Cue")
    ScheduledPrice = apps.get_model("market", "ScheduledPrice")
    Company = apps.get_model("market", "Company")
    News = apps.get_model("newsroom", "News")
    companies = {company.ticker: company for company in Company.objects.all()}
    for cue in Cue.objects.filter(status="planned", due_at__isnull=False, action__in=["price", "news"]):
        if cue.action == "news" and cue.news_id:
            News.objects.filter(pk=cue.news_id).update(published_at=cue.due_at)
        elif cue.action == "news":
            News.objects.create(title=cue.data["title"], content=cue.data["content"], published_at=cue.due_at)
        elif "price" in cue.data and cue.data.get("ticker") in companies:
            ScheduledPrice.objects.create(
                company=companies[cue.data["ticker"]],
                price=cue.data["price"],
                at=cue.due_at,
                created_by_id=cue.created_by_id,
            )
    Cue.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("organisers", "0001_run_sheet"),
        ("market", "0007_orders"),
        ("newsroom", "0002_scheduler"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]

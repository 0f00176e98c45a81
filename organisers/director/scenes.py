"""The director's scenes (SPEC §8): each one's options, checked, and what the full-scene overlay
needs to draw it (its `data`), built on the server so no page asks for it.

| scene | options | data |
|---|---|---|
| `market` | — | — (the page's own market layout) |
| `leaderboard` | `top` 1–50 (10) | `entries`: the first `top` of the standings |
| `news` | `news`: a published item's id (the latest) | `news`: `{id, title, content, published_at}` |
| `countdown` | `to`: `bell` (the next one) or a time, `title` | `to` (ISO), `title`, `bell`: open / close / none |
| `movers` | `count` 1–10 (5) | `gainers`, `losers`: companies by their change today |
| `schools` | `top` 1–50 (10) | `schools`: the schools' standings |
| `podium` | `revealed` 0–3 (0) | `count`, `revealed`, `places`: the places revealed, third first |
"""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from common.problems import InvalidInput
from market import events, selectors
from market.models import Company, PricePoint, TradingDay
from market.money import percent
from newsroom.live import news as news_data
from newsroom.models import News
from organisers.runsheet.times import CLOCK, DATETIME, BadTime, parse_at
from organisers.standings import podium, school_standings, standings

SCENES = ("market", "leaderboard", "news", "countdown", "movers", "schools", "podium")
DEFAULT_SCENE = "market"
MAX_TOP = 50
MAX_MOVERS = 10
MAX_TITLE = 120


def _refuse(name: str, message: str) -> InvalidInput:
    return InvalidInput(f"The scene's {name} is not right: {message}", errors={f"options.{name}": [message]})


def _whole(options: dict, name: str, *, low: int, high: int, default: int) -> int:
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _refuse(name, f"A whole number from {low} to {high}.")
    return value


def clean(scene: Any, options: Any, *, now: bool = True) -> tuple[str, dict]:
    """The scene and its options, checked and completed with their defaults; InvalidInput
    (`validation_error`, errors by field) for an unknown scene or a wrong option. `now=False`
    (a run-sheet cue, written before its time): only what cannot change by then is checked, not
    that its news item is published yet, a bell scheduled, or its time still to come."""
    if not isinstance(scene, str) or scene not in SCENES:
        shown = repr(scene[:30]) if isinstance(scene, str) else "that"
        raise InvalidInput(
            f"Unknown scene {shown}: one of {', '.join(SCENES)}.",
            errors={"scene": [f"One of {', '.join(SCENES)}."]},
        )
    options = {} if options is None else options
    if not isinstance(options, dict):
        raise InvalidInput("The options are a JSON object.", errors={"options": ["A JSON object."]})
    allowed = {
        "market": set(),
        "leaderboard": {"top"},
        "news": {"news"},
        "countdown": {"to", "title"},
        "movers": {"count"},
        "schools": {"top"},
        "podium": {"revealed"},
    }[scene]
    unknown = sorted(str(name)[:30] for name in set(options) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) or "no option"
        raise InvalidInput(
            f"The {scene} scene takes {takes}.", errors={f"options.{name}": ["Unknown option."] for name in unknown}
        )
    if scene in ("leaderboard", "schools"):
        return scene, {"top": _whole(options, "top", low=1, high=MAX_TOP, default=10)}
    if scene == "movers":
        return scene, {"count": _whole(options, "count", low=1, high=MAX_MOVERS, default=5)}
    if scene == "podium":
        return scene, {"revealed": _whole(options, "revealed", low=0, high=3, default=0)}
    if scene == "news":
        return scene, {"news": _news_id(options.get("news"), now=now)}
    if scene == "countdown":
        return scene, _countdown(options, now=now)
    return scene, {}


def _news_id(value: Any, *, now: bool = True) -> str | None:
    feed = News.objects.published()
    if not now:
        if value in (None, ""):
            return None  # the latest when it fires
        try:
            return str(uuid.UUID(str(value)))
        except ValueError:
            raise _refuse("news", "A published news item's id.") from None
    if value in (None, ""):
        latest = feed.order_by("-published_at", "-created_at").values_list("pk", flat=True).first()
        if latest is None:
            raise _refuse("news", "No news is published yet: publish one first.")
        return str(latest)
    try:
        pk = uuid.UUID(str(value))
    except ValueError:
        raise _refuse("news", "A published news item's id.") from None
    if not feed.filter(pk=pk).exists():
        raise _refuse("news", "No published news item has this id (a draft or a scheduled one cannot be shown).")
    return str(pk)


def _countdown(options: dict, *, now: bool = True) -> dict:
    title = options.get("title", "")
    if not isinstance(title, str) or len(title) > MAX_TITLE or "\x00" in title:
        raise _refuse("title", f"Text of at most {MAX_TITLE} characters.")
    to = options.get("to", "bell")
    if to == "bell":
        if now and next_bell() is None:
            raise _refuse("to", "No bell is scheduled: give the countdown a time (e.g. 10:00).")
        return {"to": "bell", "title": title.strip()}
    try:
        at = parse_at(to) if isinstance(to, str) else None
    except BadTime as exc:
        raise _refuse("to", str(exc)) from None
    if at is None or at.form not in (DATETIME, CLOCK):
        raise _refuse("to", '"bell", or a time: 2026-12-08 10:00 or 10:00 (today).')
    moment = at.resolve(day_opens_at=None, bell_at=None, now=timezone.now())
    if now and moment <= timezone.now():
        raise _refuse("to", "That time has passed.")
    return {"to": at.text, "title": title.strip()}


def next_bell(now: datetime | None = None) -> tuple[str, datetime] | None:
    """The next bell and when: the open day's close, else the next day's open; None if neither is set."""
    now = now or timezone.now()
    day = selectors.market_state()
    if day["status"] == "open":
        closes_at = TradingDay.objects.filter(opened_at__isnull=False, closed_at__isnull=True).values_list(
            "scheduled_close_at", flat=True
        )
        closes = closes_at.first()
        return ("close", closes) if closes and closes > now else None
    opens = (
        TradingDay.objects.filter(opened_at__isnull=True, scheduled_open_at__gt=now)
        .order_by("scheduled_open_at")
        .values_list("scheduled_open_at", flat=True)
        .first()
    )
    return ("open", opens) if opens else None


def data(scene: str, options: dict) -> dict:
    """What the full-scene overlay needs to draw the scene now."""
    if scene in ("leaderboard",):
        return {"entries": standings(options["top"])}
    if scene == "schools":
        return {"schools": school_standings()[: options["top"]]}
    if scene == "podium":
        return podium(options["revealed"])
    if scene == "movers":
        return movers(options["count"])
    if scene == "news":
        item = News.objects.published().filter(pk=options["news"]).first()
        return {"news": {**news_data(item), "content": item.content} if item else None}
    if scene == "countdown":
        return _countdown_data(options)
    return {}


def movers(count: int) -> dict:
    """The day's biggest gainers and losers among the listed companies: while a day is open, each
    company's change since the last close; once it closed, that day's move (its close against the
    close before it), which the end bell would otherwise have reset to nothing."""
    listed = [events.company(company) for company in Company.objects.filter(is_active=True).order_by("ticker")]
    if selectors.market_state()["status"] != "open":
        listed = _last_days_moves(listed)
    rising = sorted((c for c in listed if Decimal(c["change_pct"]) > 0), key=lambda c: -Decimal(c["change_pct"]))
    falling = sorted((c for c in listed if Decimal(c["change_pct"]) < 0), key=lambda c: Decimal(c["change_pct"]))
    return {"gainers": rising[:count], "losers": falling[:count]}


def _last_days_moves(listed: list[dict]) -> list[dict]:
    days = list(
        TradingDay.objects.filter(closed_at__isnull=False).order_by("-number").values_list("number", "closed_at")[:2]
    )[::-1]
    if not days:
        return listed
    history: dict[str, list] = {}
    for ticker, at, price in PricePoint.objects.order_by("company__ticker", "at", "id").values_list(
        "company__ticker", "at", "price"
    ):
        history.setdefault(ticker, []).append((at, price))
    moved = []
    for company in listed:
        points = history.get(company["ticker"], [])
        closes = selectors.day_closes(points, days)
        close, before = closes[-1], (closes[0] if len(closes) == 2 else None) or (points[0][1] if points else None)
        if close is None or not before:
            moved.append(company)
            continue
        change = close - before
        moved.append(
            {
                **company,
                "previous_price": str(before),
                "change": str(change),
                "change_pct": str(percent(change, before)),
            }
        )
    return moved


def _countdown_data(options: dict) -> dict:
    if options["to"] == "bell":
        bell = next_bell()
        if bell is None:
            return {"to": None, "bell": None, "title": options["title"] or "Next bell"}
        kind, moment = bell
        title = options["title"] or ("Trading opens" if kind == "open" else "Trading closes")
        return {"to": moment, "bell": kind, "title": title}
    moment = parse_at(options["to"]).resolve(day_opens_at=None, bell_at=None, now=timezone.now())
    return {"to": moment, "bell": None, "title": options["title"]}

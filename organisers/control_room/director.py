"""The director's panel of the control room (SPEC §8): the scene on air named in words, the podium's
next place, the form's first values and its news items. static/control/director.js names a scene
taken later from its `scene` event: the wording here and there is kept the same.
"""

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from newsroom.models import News
from organisers.director import live
from organisers.standings import podium

SCENE_LABELS = {
    "market": "Market",
    "leaderboard": "Leaderboard",
    "news": "News",
    "countdown": "Countdown",
    "movers": "Movers",
    "schools": "Schools",
    "podium": "Podium",
}
# Each scene in a few words, beside its choice on the panel.
SCENE_HELP = {
    "market": "Prices, leaderboard and news: the usual layout.",
    "leaderboard": "The standings, full screen.",
    "news": "One news item, full screen: breaking.",
    "countdown": "To the next bell, or a time, with a title.",
    "movers": "The day's biggest gainers and losers.",
    "schools": "The schools' standings.",
    "podium": "The results ceremony: third, second, first.",
}
# The podium's places by number, and the order they are revealed in (third first).
PLACES = {1: "first", 2: "second", 3: "third"}
# The news items the form offers, newest first; an older one is still a scene through the API.
NEWS_CHOICES = 50


def _moment(value: datetime | str | None) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) else value


def _clock(value: datetime | str | None) -> str:
    moment = _moment(value)
    return timezone.localtime(moment).strftime("%H:%M") if moment else ""


def taken_at(value: datetime | str | None) -> str:
    """`since 10:21:03` (event time); nothing for the market shown since the start."""
    moment = _moment(value)
    return f"since {timezone.localtime(moment):%H:%M:%S}" if moment else ""


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def describe(payload: dict[str, Any]) -> str:
    """The scene in words, as the panel's "On air" and its messages name it: `Leaderboard, top 10`."""
    scene, options, data = payload["scene"], payload.get("options") or {}, payload.get("data") or {}
    label = SCENE_LABELS.get(scene, scene)
    if scene in ("leaderboard", "schools"):
        return f"{label}, top {options.get('top', 10)}"
    if scene == "movers":
        return f"{label}, {options.get('count', 5)} each way"
    if scene == "news":
        item = data.get("news")
        return f"{label}: “{item['title']}”" if item else f"{label}: the item is no longer published"
    if scene == "countdown":
        title = data.get("title") or "no title"
        if not data.get("to"):
            return f"{label}: {title} (no bell is scheduled)"
        return f"{label} to {_clock(data['to'])}: {title}"
    if scene == "podium":
        return f"{label}: {podium_state(data)}"
    return label


def podium_state(data: dict[str, Any]) -> str:
    """`covered`, `third revealed`, `third and second revealed`, … (`no teams yet`)."""
    if not data.get("count"):
        return "no teams yet"
    shown = [PLACES.get(place["place"], str(place["place"])) for place in data.get("places", [])]
    return f"{_and(shown)} revealed" if shown else "every place covered"


def podium_next(*, on_air: dict[str, Any], count: int) -> dict[str, Any]:
    """What "Reveal next place" does from here: the `revealed` it takes, and the place it shows
    (third, second, first; fewer with fewer teams); `place` is None when none is left."""
    revealed = on_air["data"].get("revealed", 0) if on_air["scene"] == "podium" else 0
    left = count - revealed
    return {"revealed": revealed + 1, "place": PLACES.get(left) if left > 0 else None, "count": count}


def podium_count(on_air: dict[str, Any]) -> int:
    """How many places the podium has (three, fewer with fewer teams)."""
    return on_air["data"]["count"] if on_air["scene"] == "podium" else podium(0)["count"]


def news_choices() -> list[tuple[str, str]]:
    """The published news items, newest first, each with the time it was published."""
    feed = News.objects.published().order_by("-published_at", "-created_at")[:NEWS_CHOICES]
    return [(str(item.pk), f"{item.title[:80]} ({timezone.localtime(item.published_at):%d %b %H:%M})") for item in feed]


def form_initial(on_air: dict[str, Any]) -> dict[str, Any]:
    """The form starts on the scene on air, with its options: Take as drawn takes it again."""
    options = on_air["options"]
    initial: dict[str, Any] = {"scene": on_air["scene"], "top": 10, "count": 5, "revealed": "0", "to": "bell"}
    for name in ("top", "count", "news", "title"):
        if name in options:
            initial[name] = options[name]
    if "revealed" in options:
        initial["revealed"] = str(options["revealed"])
    if options.get("to", "bell") != "bell":
        initial.update(to="time", at=options["to"])
    return initial


def panel() -> dict[str, Any]:
    """The scene on air as the panel draws it first."""
    on_air = live.current()
    return {
        "scenes": [{"value": name, "label": SCENE_LABELS[name], "help": SCENE_HELP[name]} for name in SCENE_LABELS],
        "on_air": on_air,
        "on_air_label": describe(on_air),
        "taken_at": taken_at(on_air["taken_at"]),
        "podium": podium_next(on_air=on_air, count=podium_count(on_air)),
    }

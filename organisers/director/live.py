"""The `scene` event (topic `scene`) and the current scene in a snapshot: one shape for both, and
for the API: `{scene, options, taken_at, data}`, as JSON writes it."""

import json
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder

from organisers.director import scenes
from organisers.models import Broadcast
from overlay import domain


def wire(value: dict) -> dict:
    """Times and amounts as the events' JSON writes them: the event, the snapshot and the API's
    answer are the same to the letter."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def payload(scene: str, options: dict, *, taken_at: datetime | None = None) -> dict:
    """A scene as it would be drawn now (the data computed afresh): a take, a preview."""
    return wire({"scene": scene, "options": options, "taken_at": taken_at, "data": scenes.data(scene, options)})


def of(broadcast: Broadcast) -> dict:
    """The scene on air, with the data it was taken with; but a countdown to the next bell follows
    that bell (moved by a hold, rung or unscheduled since): a page loaded later counts to it."""
    data = broadcast.data
    if broadcast.scene == "countdown" and broadcast.options.get("to") == "bell":
        data = scenes.data(broadcast.scene, broadcast.options)
    return wire({"scene": broadcast.scene, "options": broadcast.options, "taken_at": broadcast.taken_at, "data": data})


def current() -> dict:
    return of(Broadcast.load())


def register() -> None:
    domain.snapshot_part("scene", topic="scene", build=lambda viewer: current())

"""The `scene` event (topic `scene`) and the current scene in a snapshot: one shape for both, and
for the API."""

import json
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder

from organisers.director import scenes
from organisers.models import Broadcast
from overlay import domain


def payload(scene: str, options: dict, *, taken_at: datetime | None = None) -> dict:
    """`{scene, options, taken_at, data}`: what a full-scene page needs to draw the scene now."""
    return {"scene": scene, "options": options, "taken_at": taken_at, "data": scenes.data(scene, options)}


def wire(payload_: dict) -> dict:
    """The payload as the `scene` event carries it (times and amounts as its JSON writes them), for
    the API's answer: one shape, to the letter."""
    return json.loads(json.dumps(payload_, cls=DjangoJSONEncoder))


def current() -> dict:
    broadcast = Broadcast.load()
    return payload(broadcast.scene, broadcast.options, taken_at=broadcast.taken_at)


def register() -> None:
    domain.snapshot_part("scene", topic="scene", build=lambda viewer: current())

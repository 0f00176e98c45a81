"""Taking a scene: checked, kept, audited, and sent to every full-scene page after the commit."""

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import User
from common.problems import DomainError
from market.services import audit
from organisers.director import live, scenes
from organisers.models import Broadcast
from overlay.events import broadcast


class SceneChanged(DomainError):
    code = "scene_changed"
    title = "The stream changed"


@transaction.atomic
def scene_take(*, by: User | None, scene, options=None, expected: tuple[str, dict] | None = None) -> Broadcast:
    """Show `scene` with `options` on the stream (InvalidInput for an unknown scene or a wrong
    option). The podium's places are revealed by taking it again with `revealed` one higher.
    With `expected` (the scene and options the organiser saw on air), refused with SceneChanged
    when another organiser took something else meanwhile: two presses of "reveal the next place"
    at once reveal one place, not two."""
    scene, options = scenes.clean(scene, options)
    current = Broadcast.objects.select_for_update().get(pk=Broadcast.load().pk)
    if expected is not None and (current.scene, current.options) != tuple(expected):
        raise SceneChanged(f"Another organiser changed the stream meanwhile (on air: {current.scene}).")
    old = {"scene": current.scene, "options": current.options}
    taken = live.payload(scene, options, taken_at=timezone.now())
    current.scene, current.options, current.data, current.taken_by = scene, options, taken["data"], by
    current.taken_at = timezone.now() if taken["taken_at"] is None else parse_datetime(taken["taken_at"])
    current.save()
    audit(by=by, action="scene_take", target=f"scene:{scene}", old=old, new={"scene": scene, "options": options})
    broadcast("scene", taken)
    return current

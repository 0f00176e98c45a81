"""Taking a scene: checked, kept, audited, and sent to every full-scene page after the commit."""

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from market.services import audit
from organisers.director import live, scenes
from organisers.models import Broadcast
from overlay.events import broadcast


@transaction.atomic
def scene_take(*, by: User | None, scene, options=None) -> Broadcast:
    """Show `scene` with `options` on the stream (InvalidInput for an unknown scene or a wrong
    option). The podium's places are revealed by taking it again with `revealed` one higher."""
    scene, options = scenes.clean(scene, options)
    current = Broadcast.objects.select_for_update().get(pk=Broadcast.load().pk)
    old = {"scene": current.scene, "options": current.options}
    current.scene, current.options, current.taken_at, current.taken_by = scene, options, timezone.now(), by
    current.save()
    audit(by=by, action="scene_take", target=f"scene:{scene}", old=old, new={"scene": scene, "options": options})
    broadcast("scene", live.payload(scene, options, taken_at=current.taken_at))
    return current

"""The control room (`/admin/control-room/`): its page and actions (`views`), its forms (`forms`)."""

from django.contrib import admin
from django.urls import path

from organisers.control_room import views


def _staff(view):
    return admin.site.admin_view(view)


app_name = "control_room"
urlpatterns = [
    path("", _staff(views.control_room), name="index"),
    path("counts", _staff(views.counts), name="counts"),
    path("bell", _staff(views.bell), name="bell"),
    path("prices", _staff(views.prices), name="prices"),
    path("news", _staff(views.news), name="news"),
    path("freeze", _staff(views.freeze), name="freeze"),
    path("reverse", _staff(views.reverse_trade), name="reverse"),
    path("cancel-orders", _staff(views.cancel_orders), name="cancel_orders"),
    path("cues/fire", _staff(views.cue_fire), name="cue_fire"),
    path("cues/skip", _staff(views.cue_skip), name="cue_skip"),
    path("run-sheet/hold", _staff(views.run_sheet_hold), name="run_sheet_hold"),
    path("run-sheet/resume", _staff(views.run_sheet_resume), name="run_sheet_resume"),
    path("run-sheet/undo", _staff(views.price_cue_undo), name="price_cue_undo"),
    path("scene/preview", _staff(views.scene_preview), name="scene_preview"),
    path("scene/take", _staff(views.scene_take), name="scene_take"),
    path("scene/reveal", _staff(views.scene_reveal), name="scene_reveal"),
    path("overlay-token", _staff(views.rotate_overlay_token), name="overlay_token"),
]

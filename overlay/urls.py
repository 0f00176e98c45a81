from django.urls import path

from overlay.sse import obs_events

urlpatterns = [path("obs/events", obs_events, name="obs-events")]

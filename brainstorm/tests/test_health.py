import pytest
from django.db import OperationalError, connection
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_health_is_ok_when_database_and_channel_layer_answer(api):
    response = api.get("/api/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "channel_layer": "ok"}


@override_settings(
    CHANNEL_LAYERS={
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]}}
    }
)
def test_health_is_503_when_the_channel_layer_is_down(api):
    from channels.layers import channel_layers

    channel_layers.backends.clear()  # forget the layer built from the previous settings
    try:
        response = api.get("/api/health")
    finally:
        channel_layers.backends.clear()

    assert response.status_code == 503
    assert response.json() == {"status": "down", "database": "ok", "channel_layer": "down"}


def test_health_is_503_when_the_database_is_down(api, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)

    response = api.get("/api/health")

    assert response.status_code == 503
    assert response.json()["database"] == "down"
    assert response.json()["status"] == "down"


def test_health_needs_no_login(api):
    assert api.get("/api/health").status_code == 200

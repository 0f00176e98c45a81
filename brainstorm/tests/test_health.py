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


@pytest.mark.postgres  # the Redis channel layer: the CI run with PostgreSQL has it
@pytest.mark.django_db(transaction=True)
def test_health_is_ok_while_screens_are_connected_to_a_quiet_market(server):
    # The server's live-event reader waits on Redis for seconds at a time; the check must not
    # queue behind it (it did: every server with a socket open answered 503 to the balancer).
    import json
    import urllib.request

    from websockets.sync.client import connect

    from overlay.tests.servers import TOKEN

    base = f"127.0.0.1:{server['port']}"
    with connect(f"ws://{base}/api/ws?token={TOKEN}", open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"
        answers = []
        for _ in range(3):
            with urllib.request.urlopen(f"http://{base}/api/health", timeout=10) as response:
                answers.append((response.status, json.loads(response.read())["channel_layer"]))
    assert answers == [(200, "ok")] * 3

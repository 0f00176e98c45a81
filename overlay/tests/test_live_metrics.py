"""The open live connections, as /metrics shows them, follow sockets and streams opening and closing."""

import asyncio
import gc
import json

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient, Client, override_settings
from prometheus_client.parser import text_string_to_metric_families

from overlay.tests.conftest import TOKEN, connected, run

pytestmark = pytest.mark.django_db(transaction=True)

METRICS_TOKEN = "metrics-token-for-the-tests-0123456789"


@sync_to_async
def open_connections(kind: str) -> float:
    with override_settings(METRICS_TOKEN=METRICS_TOKEN):
        response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            if sample.name == "brainstorm_live_connections" and sample.labels == {"kind": kind}:
                return sample.value
    return 0.0


def test_a_websocket_counts_while_it_is_open():
    async def scenario():
        before = await open_connections("websocket")
        first = await connected()
        second = await connected()
        during = await open_connections("websocket")
        await first.disconnect()
        after_one = await open_connections("websocket")
        await second.disconnect()
        return before, during, after_one, await open_connections("websocket")

    before, during, after_one, after = run(scenario)
    assert (during - before, after_one - before, after - before) == (2, 1, 0)


def test_a_refused_socket_does_not_stay_counted():
    async def scenario():
        before = await open_connections("websocket")
        ws = await connected_refused()
        return before, await open_connections("websocket"), ws

    async def connected_refused():
        from overlay.tests.conftest import closed_with, socket

        ws = socket("/api/ws?token=wrong")
        await ws.connect()
        assert await closed_with(ws) == 4401
        await ws.disconnect()
        return ws

    before, after, _ws = run(scenario)
    assert after == before


def test_an_event_stream_counts_while_it_is_open():
    async def scenario():
        before = await open_connections("sse")
        response = await AsyncClient().get(f"/api/obs/events?token={TOKEN}")
        stream = aiter(response.streaming_content)
        first = await anext(stream)
        during = await open_connections("sse")
        # The server lets go of the response when the client leaves: the stream is finalised.
        await stream.aclose()
        del stream, response
        gc.collect()
        for _ in range(3):
            await asyncio.sleep(0)
        return before, during, await open_connections("sse"), first

    before, during, after, first = run(scenario)
    assert json.loads(first.decode().removeprefix("data: "))["type"] == "snapshot"
    assert (during - before, after - before) == (1, 0)


def test_a_socket_that_fails_on_the_way_in_is_not_counted(monkeypatch):
    from overlay.consumers import MarketConsumer
    from overlay.tests.conftest import socket

    def broken(self):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(MarketConsumer, "_snapshot", broken)

    async def scenario():
        before = await open_connections("websocket")
        ws = socket()
        with pytest.raises(RuntimeError):
            await ws.connect()
            await ws.receive_from(timeout=2)
        return before, await open_connections("websocket")

    before, after = run(scenario)
    assert after == before

"""A slow screen over a real network, against a real Daphne server: a client that stops reading (a
phone on school Wi-Fi) gets the latest state when it reads again, and nobody else waits for it.

The events come from this process through Redis, as the scheduler's do: PostgreSQL + Redis run.
"""

import asyncio
import http.client
import json
import socket
import time
import urllib.request

import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families

from overlay.events import envelope, send_now
from overlay.tests.servers import TOKEN, daphne_server

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

METRICS_TOKEN = "slow-reader-metrics-token-0123456789"
PADDING = "x" * 1000  # events of a realistic size and more: the buffers fill within a few hundred


def price(ticker: str, n: int) -> dict:
    return envelope("price", {"ticker": ticker, "price": f"{n}.00", "description": PADDING})


def news(n: int) -> dict:
    return envelope("news", {"id": str(n), "title": f"Headline {n}", "published_at": None, "content": PADDING})


def metric(address: str, name: str) -> float:
    request = urllib.request.Request(f"http://{address}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    )


async def slow_client(address: str, path: str):
    """A WebSocket whose client takes nothing until told to: a small receive buffer, and the
    library stops reading from the network once one message waits unread."""
    host, port = address.split(":")
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect((host, int(port)))
    raw.setblocking(False)
    ws = await websockets.connect(f"ws://{address}{path}", sock=raw, max_queue=1, open_timeout=10)
    assert json.loads(await ws.recv())["type"] == "snapshot"
    return ws


async def read_timed(ws, arrived: dict[str, float], quiet: float = 3.0) -> list[dict]:
    """Everything the client gets until the server is quiet, noting when each headline came."""
    got = []
    try:
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), quiet))
            if event["type"] == "news":
                arrived[event["data"]["title"]] = time.monotonic()
            got.append(event)
    except TimeoutError:
        return got


async def read_all(ws, quiet: float = 1.0) -> tuple[list[dict], int | None]:
    """Everything the client gets until the server is quiet, and the close code if it closed."""
    got = []
    try:
        while True:
            got.append(json.loads(await asyncio.wait_for(ws.recv(), quiet)))
    except TimeoutError:
        return got, None
    except websockets.ConnectionClosed as closed:
        return got, closed.rcvd.code if closed.rcvd else None


def test_a_stalled_screen_gets_the_latest_prices_and_every_headline_and_delays_no_one():
    with daphne_server(METRICS_TOKEN=METRICS_TOKEN) as address:

        async def scenario():
            url = f"ws://{address}/api/ws?token={TOKEN}"
            fast = await websockets.connect(url, max_queue=None)
            assert json.loads(await fast.recv())["type"] == "snapshot"
            slow = await slow_client(address, f"/api/ws?token={TOKEN}")

            sent = []
            for n in range(1, 1501):
                sent.append(price(("ACME", "BOLT", "CORE")[n % 3], n))
                if n % 150 == 0:
                    sent.append(news(n // 150))
            arrived: dict[str, float] = {}  # each headline, when the other screen had it
            sent_at: dict[str, float] = {}
            fast_reader = asyncio.create_task(read_timed(fast, arrived))
            for event in sent:
                await asyncio.to_thread(send_now, event)
                if event["type"] == "news":
                    sent_at[event["data"]["title"]] = time.monotonic()
            fast_got = await fast_reader
            late = max(arrived[title] - at for title, at in sent_at.items())
            slow_got, code = await read_all(slow, quiet=2.0)
            for ws in (fast, slow):
                await ws.close()
            return sent, fast_got, late, slow_got, code

        sent, fast_got, late, slow_got, code = asyncio.run(scenario())
        folded = metric(address, "brainstorm_events_folded_total")

    def shown(events):
        return [(e["type"], e["data"].get("ticker") or e["data"]["title"], e["data"].get("price")) for e in events]

    assert shown(fast_got) == shown(sent)  # the other screen: everything, in order
    assert late < 1.0  # each headline there within a second of being sent, the stalled screen beside it
    assert code is None  # the slow one was not closed: it only fell behind
    # Every headline, in order; of the prices far fewer than were sent, and each ticker's last.
    assert [e["data"]["title"] for e in slow_got if e["type"] == "news"] == [f"Headline {n}" for n in range(1, 11)]
    prices = [e for e in slow_got if e["type"] == "price"]
    assert len(prices) < len(sent) / 2
    last = {}
    for event in prices:
        last[event["data"]["ticker"]] = event["data"]["price"]
    assert last == {"ACME": "1500.00", "CORE": "1499.00", "BOLT": "1498.00"}
    assert folded >= 500


def test_a_screen_too_far_behind_is_closed_with_4408_and_comes_back_to_a_snapshot():
    with daphne_server(METRICS_TOKEN=METRICS_TOKEN, CHANNEL_CAPACITY="20") as address:

        async def scenario():
            slow = await slow_client(address, f"/api/ws?token={TOKEN}&topics=news")
            # Headlines are never folded: once twenty wait behind what the network holds, the
            # server gives up on the screen. Sent until it says so, then read at once.
            n = 0
            while metric(address, "brainstorm_live_too_slow_total") < 1 and n < 2000:
                for _ in range(20):
                    n += 1
                    await asyncio.to_thread(send_now, news(n))
            got, code = await read_all(slow, quiet=3.0)
            again = await websockets.connect(f"ws://{address}/api/ws?token={TOKEN}&topics=news")
            first = json.loads(await again.recv())
            await again.close()
            return n, got, code, first

        n, got, code, first = asyncio.run(scenario())

    assert code == 4408
    assert 0 < len(got) < n  # what the network held reached it; the rest waits in no buffer
    assert first["type"] == "snapshot" and first["data"]["news"] == []


def test_a_stalled_event_stream_gets_the_latest_prices_and_every_headline():
    with daphne_server(METRICS_TOKEN=METRICS_TOKEN) as address:
        host, port = address.split(":")
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.connect((host, int(port)))
        stream = http.client.HTTPConnection(host, int(port), timeout=10)
        stream.sock = raw  # the stream's socket, with a small receive buffer, read only later
        stream.request("GET", f"/api/obs/events?token={TOKEN}&topics=market,news")
        answer = stream.getresponse()
        assert answer.status == 200
        assert json.loads(next_data(answer))["type"] == "snapshot"

        sent = []
        for n in range(1, 1501):
            sent.append(price(("ACME", "BOLT", "CORE")[n % 3], n))
            if n % 150 == 0:
                sent.append(news(n // 150))
        for event in sent:
            send_now(event)
        time.sleep(1.0)
        got = []
        raw.settimeout(2.0)
        try:
            while True:
                got.append(json.loads(next_data(answer)))
        except TimeoutError:
            pass
        stream.close()

    assert [e["data"]["title"] for e in got if e["type"] == "news"] == [f"Headline {n}" for n in range(1, 11)]
    prices = [e for e in got if e["type"] == "price"]
    assert len(prices) < len(sent) / 2
    last = {}
    for event in prices:
        last[event["data"]["ticker"]] = event["data"]["price"]
    assert last == {"ACME": "1500.00", "CORE": "1499.00", "BOLT": "1498.00"}


def next_data(answer) -> str:
    """The next `data:` line of an event stream (heartbeats and blank lines skipped)."""
    while True:
        line = answer.readline().decode()
        if line.startswith("data: "):
            return line.removeprefix("data: ").strip()

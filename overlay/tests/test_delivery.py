"""Delivery to one connection (SPEC §5): the latest state for a slow screen, never a backlog.

The slow client is played by the connection's backlog (what the server holds that the client has
not taken): here a function the test sets, over the in-process communicator; over a real network
in test_slow_reader_postgres.py.
"""

import asyncio
import json

import pytest
from channels.layers import get_channel_layer
from django.test import AsyncClient, override_settings

from overlay import delivery
from overlay.delivery import TOO_SLOW, Mailbox, Outlet
from overlay.events import MARKET_GROUP, envelope, layer_message, send_now
from overlay.tests.conftest import TOKEN, closed_with, connected, run

pytestmark = pytest.mark.django_db(transaction=True)


def price(ticker: str, value: str) -> dict:
    return layer_message(envelope("price", {"ticker": ticker, "price": value}))


def news(title: str) -> dict:
    return layer_message(envelope("news", {"id": title, "title": title, "published_at": None}))


def bell(action: str) -> dict:
    return layer_message(envelope("bell", {"action": action, "day": 1}))


def shown(messages: list[dict]) -> list[tuple]:
    out = []
    for message in messages:
        data = json.loads(message["text"])["data"] if "text" in message else message["data"]
        out.append((message["type"], data.get("ticker") or data.get("title") or data.get("action"), data.get("price")))
    return out


# The mailbox


def test_a_newer_price_replaces_the_waiting_one_of_its_ticker_and_goes_after_what_came_between():
    box = Mailbox(capacity=100)
    for message in (price("ACME", "10.00"), price("BOLT", "3.00"), bell("end_day"), price("ACME", "11.00")):
        assert box.put(message)
    taken = [box.take() for _ in range(len(box))]
    # ACME's 10.00 is gone; 11.00 comes after the bell it followed.
    assert shown(taken) == [("price", "BOLT", "3.00"), ("bell", "end_day", None), ("price", "ACME", "11.00")]


def test_bells_news_and_trades_are_never_replaced():
    box = Mailbox(capacity=100)
    trade = layer_message(envelope("trade", {"ticker": "ACME", "price": "1.00"}))
    for message in (news("one"), news("two"), bell("start_day"), bell("end_day"), trade, trade):
        box.put(message)
    assert [message["type"] for message in (box.take() for _ in range(len(box)))] == [
        "news",
        "news",
        "bell",
        "bell",
        "trade",
        "trade",
    ]


def test_a_newer_leaderboard_replaces_the_waiting_one():
    box = Mailbox(capacity=100)
    for n in range(3):
        box.put(layer_message(envelope("leaderboard", {"entries": [n]})))
    assert len(box) == 1
    assert json.loads(box.take()["text"])["data"]["entries"] == [2]


def test_the_mailbox_says_when_more_than_its_capacity_waits():
    box = Mailbox(capacity=2)
    assert box.put(news("one")) and box.put(news("two"))
    assert box.put(price("ACME", "1.00")) is False


def test_without_folding_every_price_waits_its_turn():
    box = Mailbox(capacity=100)
    for value in ("1.00", "2.00"):
        box.put(price("ACME", value), fold=False)
    assert [json.loads(box.take()["text"])["data"]["price"] for _ in range(2)] == ["1.00", "2.00"]


# One WebSocket's outlet


class Client:
    """What reached the client, and how much the server holds for it (`behind`, in bytes)."""

    def __init__(self) -> None:
        self.frames: list[str] = []
        self.behind = 0
        self.too_slow = 0

    async def write(self, text: str) -> None:
        self.frames.append(text)

    def backlog(self) -> int:
        return self.behind

    async def closed(self) -> None:
        self.too_slow += 1


def test_a_client_that_keeps_up_gets_every_event_at_once():
    client = Client()

    async def scenario():
        outlet = Outlet(client.write, client.backlog, client.closed)
        for value in ("1.00", "2.00", "3.00"):
            await outlet.offer(price("ACME", value))
        return outlet

    outlet = run(scenario)
    assert len(client.frames) == 3 and outlet.drainer is None and not outlet.mailbox


def test_a_client_behind_gets_the_latest_state_when_it_catches_up():
    client = Client()

    async def scenario():
        outlet = Outlet(client.write, client.backlog, client.closed)
        await outlet.offer(price("ACME", "1.00"))
        client.behind = delivery.high_water() + 1  # the client stops reading
        for n in range(2, 50):
            await outlet.offer(price("ACME", f"{n}.00"))
        await outlet.offer(news("Rates cut"))
        await outlet.offer(price("ACME", "50.00"))
        await asyncio.sleep(delivery.POLL_SECONDS * 3)
        held_back = list(client.frames)
        client.behind = 0  # and reads again
        for _ in range(100):
            if not outlet.mailbox and outlet.drainer is None:
                break
            await asyncio.sleep(delivery.POLL_SECONDS)
        return held_back

    held_back = run(scenario)
    assert len(held_back) == 1  # nothing more was written while it was behind
    # Then: the news, and ACME at its latest price, once; not 49 prices of the past.
    assert [frame.split('"price": ')[-1][:7] if '"price"' in frame else "news" for frame in client.frames[1:]] == [
        "news",
        '"50.00"',
    ]
    assert client.too_slow == 0


@override_settings(CHANNEL_CAPACITY=5)
def test_a_client_too_far_behind_is_closed_and_its_waiting_events_dropped():
    client = Client()

    async def scenario():
        outlet = Outlet(client.write, client.backlog, client.closed)
        client.behind = delivery.high_water() + 1
        for n in range(8):
            await outlet.offer(news(f"item {n}"))  # never folded
        await asyncio.sleep(delivery.POLL_SECONDS * 2)
        return outlet

    outlet = run(scenario)
    assert client.too_slow == 1
    assert client.frames == [] and not outlet.mailbox


# Over the socket: a slow screen beside a fast one


@pytest.fixture
def slow_backlog(monkeypatch):
    """The next connection opened after `state["next_slow"] = True` is the slow one: its backlog
    is `state["behind"]`; every other connection keeps up."""
    state = {"next_slow": False, "behind": 0}

    def backlog_for(send):
        if state.pop("next_slow", False):
            state["next_slow"] = False
            return lambda: state["behind"]
        return lambda: 0

    monkeypatch.setattr("overlay.consumers.server_backlog", backlog_for)
    monkeypatch.setattr("overlay.sse.server_backlog", backlog_for)
    return state


def test_a_slow_socket_gets_the_latest_prices_and_every_bell_and_news_while_a_fast_one_gets_all(slow_backlog):
    async def scenario():
        fast = await connected()
        slow_backlog["next_slow"] = True
        slow = await connected()
        slow_backlog["behind"] = delivery.high_water() + 1
        sent = [price("ACME", f"{n}.00") for n in range(1, 21)]
        sent.insert(5, news("Breaking"))
        sent.insert(12, bell("end_day"))
        sent += [price("BOLT", "7.00"), price("ACME", "21.00")]
        for message in sent:
            send_now(json.loads(message["text"]))
        fast_got = [await fast.receive_json_from(timeout=2) for _ in sent]
        quiet_while_behind = await slow.receive_nothing(timeout=0.3)
        slow_backlog["behind"] = 0
        slow_got = []
        while not await slow.receive_nothing(timeout=0.5):
            slow_got.append(await slow.receive_json_from())
        for ws in (fast, slow):
            await ws.disconnect()
        return shown(sent), shown(fast_got), quiet_while_behind, shown(slow_got)

    sent, fast_got, quiet_while_behind, slow_got = run(scenario)
    assert fast_got == sent  # unaffected: everything, in order, at once
    assert quiet_while_behind
    assert slow_got == [
        ("news", "Breaking", None),
        ("bell", "end_day", None),
        ("price", "BOLT", "7.00"),
        ("price", "ACME", "21.00"),
    ]


@override_settings(CHANNEL_CAPACITY=3)
def test_a_socket_too_far_behind_is_closed_with_4408_and_the_next_one_starts_from_a_snapshot(slow_backlog):
    async def scenario():
        slow_backlog["next_slow"] = True
        slow = await connected()
        slow_backlog["behind"] = delivery.high_water() + 1
        for n in range(5):
            send_now(json.loads(news(f"item {n}")["text"]))
        code = await closed_with(slow)
        again = await connected()  # a fresh connection: a snapshot, then live again
        send_now(json.loads(news("after")["text"]))
        after = await again.receive_json_from(timeout=2)
        await again.disconnect()
        return code, after

    code, after = run(scenario)
    assert code == TOO_SLOW
    assert after["data"]["title"] == "after"


def test_a_slow_sse_stream_gets_the_latest_prices_and_every_news_item(slow_backlog):
    async def scenario():
        slow_backlog["next_slow"] = True
        response = await AsyncClient().get(f"/api/obs/events?token={TOKEN}")
        stream = aiter(response.streaming_content)
        assert (await sse_data(stream))["type"] == "snapshot"
        slow_backlog["behind"] = delivery.high_water() + 1
        for message in [price("ACME", "1.00"), news("one"), price("ACME", "2.00"), price("ACME", "3.00")]:
            send_now(json.loads(message["text"]))
        await asyncio.sleep(0.3)
        slow_backlog["behind"] = 0
        got = [await sse_data(stream) for _ in range(2)]
        await stream.aclose()
        return shown(got)

    assert run(scenario) == [("news", "one", None), ("price", "ACME", "3.00")]


async def sse_data(stream) -> dict:
    while True:
        chunk = await anext(stream)
        chunk = chunk.decode() if isinstance(chunk, bytes) else chunk
        if chunk.startswith("data: "):
            return json.loads(chunk.removeprefix("data: "))


def test_events_for_a_stream_wait_in_order_while_it_keeps_up(slow_backlog):
    """Unfolded while the client keeps up: a fast stream gets every price of a burst."""

    async def scenario():
        response = await AsyncClient().get(f"/api/obs/events?token={TOKEN}")
        stream = aiter(response.streaming_content)
        await sse_data(stream)
        layer = get_channel_layer()
        batch = [price("ACME", f"{n}.00") for n in range(1, 5)]
        await layer.group_send(MARKET_GROUP, {"type": "batch", "group": MARKET_GROUP, "messages": batch})
        got = [await sse_data(stream) for _ in range(4)]
        await stream.aclose()
        return [event["data"]["price"] for event in got]

    assert run(scenario) == ["1.00", "2.00", "3.00", "4.00"]

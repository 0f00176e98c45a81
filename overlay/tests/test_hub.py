"""overlay.hub: a server process joins each group once for all its sockets and hands each event
to the sockets of its group; snapshot first, failures closed, memberships renewed."""

import asyncio
import threading
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.test import override_settings

from market import services
from overlay.consumers import LAYER_FAILED, MarketConsumer
from overlay.events import MARKET_GROUP, TRADES_GROUP, envelope, layer_message, send_now
from overlay.hub import Hub, current_hub
from overlay.tests.conftest import TOKEN, closed_with, connected, group_size, run, session_headers, socket

pytestmark = pytest.mark.django_db(transaction=True)


async def next_event(ws, event_type: str, timeout: float = 3.0) -> dict:
    while True:
        event = await ws.receive_json_from(timeout=timeout)
        if event["type"] == event_type:
            return event


def test_a_server_process_joins_each_group_once_whatever_the_number_of_its_sockets(team, company):
    layer = get_channel_layer()
    headers = session_headers(team.user)

    async def sizes() -> tuple[int, int]:
        return await group_size(layer, MARKET_GROUP), await group_size(layer, TRADES_GROUP)

    async def scenario():
        before = await sizes()
        overlays = [await connected(f"/api/ws?token={TOKEN}&topics=market,trades") for _ in range(3)]
        player = await connected("/api/ws", headers)
        joined = await sizes()
        await database_sync_to_async(services.price_set)(company=company, price=Decimal("12.50"), by=None)
        prices = [(await next_event(ws, "price"))["data"]["price"] for ws in [*overlays, player]]
        for ws in [*overlays, player]:
            await ws.disconnect()
        return before, joined, prices, await sizes(), current_hub().members, current_hub().addressed

    before, joined, prices, left, members, addressed = run(scenario)
    # One channel, the process's, in each group: not one per socket.
    assert (joined[0] - before[0], joined[1] - before[1]) == (1, 1)
    assert prices == ["12.50"] * 4
    assert left == before  # the last socket out takes the process out of the groups
    assert members == {}
    assert addressed == {}  # nor is the team's own address kept


def test_a_change_made_while_the_snapshot_is_read_arrives_after_the_snapshot(monkeypatch, company):
    real_snapshot, real_hub_message = MarketConsumer._snapshot, MarketConsumer.hub_message
    reached_the_socket = threading.Event()

    async def hub_message(self, message):
        await real_hub_message(self, message)
        reached_the_socket.set()

    def snapshot_then_a_change(self):
        data = real_snapshot(self)
        services.price_set(company=company, price=Decimal("13.00"), by=None)  # commits: its event leaves now
        assert reached_the_socket.wait(5)  # the event is at the socket before its snapshot is sent
        return data

    monkeypatch.setattr(MarketConsumer, "hub_message", hub_message)
    monkeypatch.setattr(MarketConsumer, "_snapshot", snapshot_then_a_change)

    async def scenario():
        ws = socket()
        assert (await ws.connect())[0]
        first = await ws.receive_json_from(timeout=3)
        price = await next_event(ws, "price")
        await ws.disconnect()
        return first, price

    first, price = run(scenario)
    assert first["type"] == "snapshot"
    assert [c["price"] for c in first["data"]["companies"]] == ["10.00"]
    assert price["data"]["price"] == "13.00"


def test_a_channel_layer_failure_closes_the_sockets_so_their_clients_start_again(monkeypatch, company):
    layer = get_channel_layer()

    async def failing_receive(channel):
        raise ConnectionError("Redis went away")

    async def scenario():
        ws = await connected()
        monkeypatch.setattr(layer, "receive", failing_receive)  # the hub's next read fails
        send_now(envelope("news", {"id": 1, "title": "Still delivered"}))  # ends the read under way
        news = await next_event(ws, "news")
        code = await closed_with(ws, timeout=3)
        # Redis comes back empty (no persistence): every membership is gone. A client reconnects
        # while the closed socket has not yet left: the process must join its groups again.
        monkeypatch.undo()
        await layer.flush()
        again = await connected()
        await database_sync_to_async(services.price_set)(company=company, price=Decimal("12.00"), by=None)
        price = await next_event(again, "price", timeout=5)
        for socket_ in (ws, again):
            await socket_.disconnect()
        return news, code, price

    news, code, price = run(scenario)
    assert news["data"]["title"] == "Still delivered"
    assert code == LAYER_FAILED
    assert price["data"]["price"] == "12.00"


def test_a_socket_that_fails_on_the_way_in_leaves_its_groups(monkeypatch):
    layer = get_channel_layer()

    def broken(self):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(MarketConsumer, "_snapshot", broken)

    async def scenario():
        before = await group_size(layer, MARKET_GROUP)
        ws = socket()
        with pytest.raises(RuntimeError):
            await ws.connect()
            await ws.receive_from(timeout=2)
        return before, await group_size(layer, MARKET_GROUP), current_hub().members

    before, after, members = run(scenario)
    assert after == before
    assert members == {}


@override_settings(LIVE_HUB_REFRESH_SECONDS=0.05)
def test_the_process_joins_its_groups_again_before_the_layer_forgets_them(monkeypatch):
    layer = get_channel_layer()
    added: list[str] = []
    group_add = layer.group_add

    async def counted(group, channel):
        added.append(group)
        await group_add(group, channel)

    monkeypatch.setattr(layer, "group_add", counted)

    async def scenario():
        ws = await connected()
        await asyncio.sleep(0.3)
        await ws.disconnect()

    run(scenario)
    assert added.count(MARKET_GROUP) >= 3  # the join, then renewals


class Recorder:
    topics = frozenset({"market"})
    address = None

    def __init__(self, fail: bool = False):
        self.fail = fail
        self.got: list[str] = []

    async def hub_message(self, message: dict) -> None:
        if self.fail:
            raise RuntimeError("a broken socket")
        self.got.append(message["type"])

    async def hub_lost(self) -> None:
        pass


def test_one_broken_socket_does_not_keep_an_event_from_the_others():
    async def scenario():
        hub = Hub(get_channel_layer())
        broken, members = Recorder(fail=True), [Recorder() for _ in range(120)]
        for member in [broken, *members]:
            await hub.join(member, (MARKET_GROUP,))
        await hub._deliver({"type": "price", "group": MARKET_GROUP})
        await hub._deliver({"type": "news", "group": "somewhere else"})  # no member there
        for member in [broken, *members]:
            await hub.leave(member, (MARKET_GROUP,))
        return [member.got for member in members]

    assert run(scenario) == [["price"]] * 120


def test_a_socket_leaving_while_an_event_goes_out_is_not_sent_it():
    async def scenario():
        hub = Hub(get_channel_layer())
        members = [Recorder() for _ in range(200)]
        for member in members:
            await hub.join(member, (MARKET_GROUP,))
        delivery = asyncio.ensure_future(hub._deliver({"type": "price", "group": MARKET_GROUP}))
        await asyncio.sleep(0)  # the delivery hands the first sockets the event, then lets others run
        leaving = list(hub.members[MARKET_GROUP])[-1]
        await hub.leave(leaving, (MARKET_GROUP,))
        await delivery
        for member in members:
            await hub.leave(member, (MARKET_GROUP,))
        return leaving.got, sum(1 for member in members if member.got)

    got, delivered = run(scenario)
    assert delivered == 199  # everyone else
    assert got == []


class SwallowingLayer:
    """A channel layer whose receive swallows the first cancellation on a channel, as a Redis
    client may."""

    def __init__(self):
        self.queues: dict[str, asyncio.Queue] = {}
        self.swallowed: set[str] = set()

    async def new_channel(self, prefix: str) -> str:
        name = f"{prefix}{len(self.queues)}"
        self.queues[name] = asyncio.Queue()
        return name

    async def group_add(self, group, channel):
        pass

    async def group_discard(self, group, channel):
        pass

    async def receive(self, channel):
        while True:
            try:
                return await self.queues[channel].get()
            except asyncio.CancelledError:
                if channel in self.swallowed:
                    raise
                self.swallowed.add(channel)


def test_the_reader_ends_when_the_loop_stops_even_if_the_layer_swallows_the_cancellation():
    # At shutdown the loop cancels every task; a Redis client can swallow that cancellation during
    # a read. The reader must still end (or the server would not stop), and deliver nothing more.
    async def scenario():
        layer = SwallowingLayer()
        hub, member = Hub(layer), Recorder()
        await hub.join(member, (MARKET_GROUP,))
        await asyncio.sleep(0.01)  # the read is under way
        hub.reader.cancel()
        layer.queues[hub.channel].put_nowait({"type": "news", "group": MARKET_GROUP})  # ends that read
        try:
            await asyncio.wait_for(hub.reader, 2)
        except asyncio.CancelledError:
            ended = True
        else:
            ended = False
        hub.refresher.cancel()
        return ended, member.got

    assert run(scenario) == (True, [])


def test_a_socket_ended_without_disconnect_is_forgotten(monkeypatch):
    # Channels calls disconnect() only for the client's close: a consumer cancelled by the server
    # (or whose handler raised) must not stay in the hub.
    async def scenario():
        ws = await connected()
        live = current_hub()
        during = len(live.members.get(MARKET_GROUP, ()))
        ws.future.cancel()  # as Daphne cancels an application that outlived its close timeout
        await asyncio.sleep(0.05)
        return during, len(live.members.get(MARKET_GROUP, ()))

    during, after = run(scenario)
    assert during >= 1
    assert after == during - 1


def test_a_socket_already_closing_is_sent_nothing_more_and_raises_nothing():
    # The client's close is on its way: the server refuses frames (Autobahn raises) until
    # disconnect() comes. The event must not fail, nor be tried again on that socket.
    from autobahn.exception import Disconnected

    from overlay.events import DEFAULT_TOPICS
    from overlay.viewers import OVERLAY_VIEWER

    tried: list[str] = []

    async def refusing_send(message):
        tried.append(message["text"])
        raise Disconnected("Attempt to send on a closed protocol")

    async def scenario():
        consumer = MarketConsumer()
        consumer.scope, consumer.base_send = {}, refusing_send
        consumer._subscribe(OVERLAY_VIEWER, DEFAULT_TOPICS)
        for n in range(2):
            await consumer.hub_message({"type": "price", "text": f"price {n}", "group": MARKET_GROUP})
        return consumer.ended

    assert run(scenario) is True
    assert tried == ["price 0"]


def test_a_batch_of_events_reaches_each_socket_as_its_events_in_order():
    batch = [layer_message(envelope("price", {"ticker": "ACME", "price": f"1{n}.00"})) for n in range(4)]

    async def scenario():
        sockets = [await connected() for _ in range(2)]
        await get_channel_layer().group_send(MARKET_GROUP, {"type": "batch", "group": MARKET_GROUP, "messages": batch})
        got = [[(await next_event(ws, "price"))["data"]["price"] for _ in range(4)] for ws in sockets]
        for ws in sockets:
            await ws.disconnect()
        return got

    assert run(scenario) == [["10.00", "11.00", "12.00", "13.00"]] * 2

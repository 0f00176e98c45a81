"""Events go out only after commit, with the envelope of SPEC §5; leaderboard events coalesce."""

from decimal import Decimal

import pytest
from django.db import transaction

from market import services
from overlay.events import Coalescer, envelope

pytestmark = pytest.mark.django_db


def test_a_committed_price_change_queues_its_events(company, team, open_market, django_capture_on_commit_callbacks):
    services.trade_execute(participant=team, company=company, side="buy", quantity=1)
    with django_capture_on_commit_callbacks() as callbacks:
        services.price_set(company=company, price=Decimal("11.00"), by=None)
    # Cached reads renewed first (a screen that reads on the event reads the change), the log
    # line, the price event, then the leaderboard's and the ranks' requests (a team holds the stock),
    # and a fill pass for the waiting orders the price may have made due.
    assert len(callbacks) == 6


def test_a_price_change_nobody_holds_leaves_the_leaderboard_alone(company, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        services.price_set(company=company, price=Decimal("11.00"), by=None)
    assert len(callbacks) == 4  # no leaderboard request: no team's value moved (a fill pass still)


def test_a_rolled_back_change_announces_nothing(company, team, open_market, django_capture_on_commit_callbacks):
    class Abort(Exception):
        pass

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(Abort), transaction.atomic():
        services.price_set(company=company, price=Decimal("11.00"), by=None)
        services.trade_execute(participant=team, company=company, side="buy", quantity=1)
        raise Abort
    assert callbacks == []


def test_a_refused_trade_announces_nothing(company, team, open_market, django_capture_on_commit_callbacks):
    from market.errors import InsufficientShares

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(InsufficientShares):
        services.trade_execute(participant=team, company=company, side="sell", quantity=1)
    assert callbacks == []


def test_envelope_is_json_safe_and_dated():
    event = envelope("price", {"price": Decimal("1.50")})
    assert event["type"] == "price"
    assert event["data"] == {"price": "1.50"}
    assert event["at"].endswith("Z") or "+" in event["at"]


def test_unknown_event_types_are_a_programming_error():
    with pytest.raises(ValueError, match="unknown event type"):
        envelope("gossip", {})


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_coalescer_emits_at_once_then_folds_a_burst_into_one_trailing_emission():
    import threading

    clock = FakeClock()
    emitted = threading.Event()
    calls = []

    def emit():
        calls.append(clock.now)
        emitted.set()

    coalescer = Coalescer(emit, interval=0.2, clock=clock)
    coalescer.request()  # quiet until now: at once
    assert calls == [100.0]
    emitted.clear()
    for _ in range(50):  # a burst within the interval
        coalescer.request()
    assert calls == [100.0]
    assert emitted.wait(2), "the trailing emission never came"
    assert len(calls) == 2
    coalescer.cancel()


def test_coalescer_never_emits_twice_within_the_interval():
    clock = FakeClock()
    calls = []
    coalescer = Coalescer(lambda: calls.append(clock.now), interval=10, clock=clock)
    coalescer.request()
    clock.now += 5
    coalescer.request()
    coalescer.request()
    assert calls == [100.0]  # the second waits on a timer, due at 110
    coalescer.cancel()
    clock.now += 6
    coalescer.request()  # after cancel: quiet again
    assert calls == [100.0, 111.0]


def test_events_sent_from_request_threads_leave_through_the_outbox_in_order():
    # In a server process a request's thread hands its events to the loop's outbox and goes on;
    # one task sends them, in the order they were handed over, with their text made once.
    import asyncio
    import json
    import threading

    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from overlay import events

    sent_from: set[int] = set()

    async def scenario() -> list[dict]:
        events.remember_server_loop()
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(events.MARKET_GROUP, channel)
        group_send = layer.group_send

        async def recorded(group, message):
            sent_from.add(threading.get_ident())
            await group_send(group, message)

        layer.group_send = recorded

        def request_thread() -> None:
            for n in range(30):
                events.send_now(envelope("price", {"n": n}))

        await asyncio.to_thread(request_thread)
        received = []
        while len(received) < 30:  # what queued up while a send was under way came in one batch
            received += events.unbatched(await asyncio.wait_for(layer.receive(channel), 5))
        await layer.group_discard(events.MARKET_GROUP, channel)
        del layer.group_send
        loop_thread.append(threading.get_ident())
        return received

    loop_thread: list[int] = []
    received = async_to_sync(scenario)()
    assert sent_from == set(loop_thread)  # sent by the loop's task, not by the request's thread
    assert [json.loads(message["text"])["data"]["n"] for message in received] == list(range(30))


def test_the_outbox_stops_when_the_server_stops_even_if_the_layer_swallows_the_cancellation(monkeypatch):
    # The Redis client can swallow a cancellation that arrives during a send; the outbox's task
    # must still end, or the stopping server's loop waits for it for ever.
    import asyncio

    from asgiref.sync import async_to_sync

    from overlay import events

    class SwallowingLayer:
        sending = asyncio.Event()

        async def group_send(self, group, message):
            self.sending.set()
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                return  # as a client that catches it to tidy its connection up

    layer = SwallowingLayer()
    monkeypatch.setattr(events, "get_channel_layer", lambda: layer)

    async def scenario() -> tuple[bool, bool]:
        outbox = asyncio.Queue()
        task = asyncio.get_running_loop().create_task(events._deliver(outbox))
        outbox.put_nowait((events.MARKET_GROUP, {"type": "price"}))
        await asyncio.wait_for(layer.sending.wait(), 2)
        task.cancel()
        done, _pending = await asyncio.wait([task], timeout=2)
        return task in done, task.cancelled()

    assert async_to_sync(scenario)() == (True, True)


def test_events_that_queue_up_during_a_send_go_out_as_one_batch_per_group_in_order(monkeypatch):
    # Under a stream of trades the loop answers each Redis round trip late: events sent one by
    # one fell behind. What queued meanwhile goes out in one group send per group.
    import asyncio

    from asgiref.sync import async_to_sync

    from overlay import events

    class SlowLayer:
        def __init__(self) -> None:
            self.sent: list[tuple[str, dict]] = []
            self.first = asyncio.Event()
            self.release = asyncio.Event()

        async def group_send(self, group, message):
            self.sent.append((group, message))
            self.first.set()
            await self.release.wait()

    layer = SlowLayer()
    monkeypatch.setattr(events, "get_channel_layer", lambda: layer)

    def event(group: str, n: int) -> tuple[str, dict]:
        return group, {"type": "trade" if group == events.MARKET_GROUP else "portfolio", "n": n, "group": group}

    async def scenario() -> list[tuple[str, dict]]:
        outbox = asyncio.Queue()
        task = asyncio.get_running_loop().create_task(events._deliver(outbox))
        outbox.put_nowait(event(events.MARKET_GROUP, 0))
        await asyncio.wait_for(layer.first.wait(), 2)  # the first is on its way, alone
        for n in range(1, 6):  # meanwhile a trade and a portfolio event each, five times
            outbox.put_nowait(event(events.MARKET_GROUP, n))
            outbox.put_nowait(event("group.7", n))
        layer.release.set()
        while outbox.qsize() or len(layer.sent) < 3:
            await asyncio.sleep(0.01)
        task.cancel()
        return layer.sent

    sent = async_to_sync(scenario)()
    assert [(group, message["type"]) for group, message in sent] == [
        (events.MARKET_GROUP, "trade"),
        (events.MARKET_GROUP, "batch"),
        ("group.7", "batch"),
    ]
    assert [m["n"] for m in events.unbatched(sent[1][1])] == [1, 2, 3, 4, 5]
    assert [m["n"] for m in events.unbatched(sent[2][1])] == [1, 2, 3, 4, 5]
    assert sent[1][1]["group"] == events.MARKET_GROUP  # the hub hands a message to its group's sockets
    assert events.unbatched(sent[0][1]) == [sent[0][1]]


def test_a_batch_is_at_most_batch_limit_events(monkeypatch):
    import asyncio

    from asgiref.sync import async_to_sync

    from overlay import events

    sizes: list[int] = []

    class Layer:
        async def group_send(self, group, message):
            sizes.append(len(events.unbatched(message)))

    monkeypatch.setattr(events, "get_channel_layer", lambda: Layer())
    monkeypatch.setattr(events, "BATCH_LIMIT", 4)

    async def scenario() -> None:
        outbox = asyncio.Queue()
        for n in range(10):
            outbox.put_nowait((events.MARKET_GROUP, {"type": "trade", "n": n}))
        task = asyncio.get_running_loop().create_task(events._deliver(outbox))
        while sum(sizes) < 10:
            await asyncio.sleep(0.01)
        task.cancel()

    async_to_sync(scenario)()
    assert sizes == [4, 4, 2]


def test_the_groups_of_a_batch_are_sent_at_the_same_time(monkeypatch):
    # Sent one group after another (the market's, the trade tape's), a stream of trades outran the
    # outbox. Here a send to one group finishes only once the other's has started: sent in turn,
    # it would wait for ever.
    import asyncio

    from asgiref.sync import async_to_sync

    from overlay import events

    started = {"group.1": asyncio.Event(), "group.2": asyncio.Event()}
    done: list[str] = []

    class Layer:
        async def group_send(self, group, message):
            started[group].set()
            other = "group.2" if group == "group.1" else "group.1"
            await started[other].wait()
            done.append(group)

    monkeypatch.setattr(events, "get_channel_layer", lambda: Layer())

    async def scenario() -> None:
        outbox = asyncio.Queue()
        outbox.put_nowait(("group.1", {"type": "portfolio"}))
        outbox.put_nowait(("group.2", {"type": "portfolio"}))
        task = asyncio.get_running_loop().create_task(events._deliver(outbox))
        try:
            async with asyncio.timeout(2):
                while len(done) < 2:
                    await asyncio.sleep(0.01)
        finally:
            task.cancel()

    async_to_sync(scenario)()
    assert sorted(done) == ["group.1", "group.2"]


def test_in_a_stream_sends_are_spaced_and_gather_what_came_meanwhile_and_a_lone_event_goes_at_once(monkeypatch):
    # Every message costs each server process a read of the channel layer: in a burst, the outbox
    # sends at most once per LINGER_SECONDS, everything that came meanwhile together.
    import asyncio
    import time

    from asgiref.sync import async_to_sync

    from overlay import events

    sends: list[tuple[float, int]] = []

    class Layer:
        async def group_send(self, group, message):
            sends.append((time.monotonic(), len(events.unbatched(message))))

    monkeypatch.setattr(events, "get_channel_layer", lambda: Layer())
    monkeypatch.setattr(events, "LINGER_SECONDS", 0.2)

    async def scenario() -> float:
        outbox = asyncio.Queue()
        task = asyncio.get_running_loop().create_task(events._deliver(outbox))
        for n in range(2):
            outbox.put_nowait((events.MARKET_GROUP, {"type": "trade", "n": n}))  # a stream begins
        for n in range(2, 12):  # then one event every 10 ms for 100 ms
            await asyncio.sleep(0.01)
            outbox.put_nowait((events.MARKET_GROUP, {"type": "trade", "n": n}))
        while sum(size for _, size in sends) < 12:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.4)  # quiet
        lone = time.monotonic()
        outbox.put_nowait((events.MARKET_GROUP, {"type": "price"}))
        while len(sends) < 3:
            await asyncio.sleep(0.005)
        task.cancel()
        return lone

    lone = async_to_sync(scenario)()
    # The first two together at once, the next ten gathered in one send 0.2 s after it.
    assert [size for _, size in sends[:2]] == [2, 10]
    assert sends[1][0] - sends[0][0] >= 0.19
    # After a quiet moment a lone event goes at once.
    assert len(sends) == 3 and sends[2][1] == 1 and sends[2][0] - lone < 0.15  # not the 0.2 s linger

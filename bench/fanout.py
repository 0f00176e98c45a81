"""The fan-out clients: many WebSocket connections that note when each price change reaches them."""

import asyncio
import gc
import json
import time
from collections.abc import Awaitable, Callable

import websockets

from bench.load import percentile


class Listener:
    """One socket; `seen[mark]` is when the event carrying `mark` arrived (perf_counter)."""

    def __init__(self, url: str, mark_of: Callable[[dict], str | None]):
        self.url = url
        self.mark_of = mark_of
        self.seen: dict[str, float] = {}
        self.connection = None
        self.task: asyncio.Task | None = None

    async def open(self) -> None:
        self.connection = await websockets.connect(self.url, max_queue=None, open_timeout=30)
        self.task = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        try:
            async for raw in self.connection:
                arrived = time.perf_counter()
                mark = self.mark_of(json.loads(raw))
                if mark is not None:
                    self.seen.setdefault(mark, arrived)
        except websockets.ConnectionClosed:
            pass

    async def close(self) -> None:
        await self.connection.close()
        await self.task


async def fan_out(
    url: str | list[str],
    clients: int,
    changes: int,
    change: Callable[[int], Awaitable[str]],
    mark_of: Callable[[dict], str | None],
    pause: float = 0.5,
    settle: float = 5.0,
) -> dict:
    """Connect `clients` sockets (to the URLs in turn when given several, as a balancer would),
    make a first change (`change(-1)`), then `changes` changes (`change(k)` makes one and returns
    its mark), and report delivery latency from each change to each client, the first apart, and
    what was lost."""
    urls = [url] if isinstance(url, str) else url
    listeners = [Listener(urls[n % len(urls)], mark_of) for n in range(clients)]
    for start in range(0, clients, 50):
        await asyncio.gather(*(listener.open() for listener in listeners[start : start + 50]))
    await asyncio.sleep(1.0)  # every snapshot delivered before the first change
    # The client is the measuring instrument: its thousand connections out of its collector's
    # full passes while it measures (one paused it 100 ms in a run), for either server alike.
    gc.collect()
    gc.freeze()
    # One change first, reported apart and not among the measured ones: a server's first event
    # pays for what a process does once (its first connection to send on the channel layer).
    # With twenty changes, a thousand samples each, one slow change would be the whole p99.
    cold_started = time.perf_counter()
    cold = await change(-1)
    await asyncio.sleep(pause)
    sent: dict[str, float] = {}
    answered: list[float] = []
    for k in range(changes):
        started = time.perf_counter()
        mark = await change(k)
        answered.append(time.perf_counter() - started)
        sent[mark] = started
        await asyncio.sleep(pause)
    deadline = time.perf_counter() + settle
    while time.perf_counter() < deadline and any(len(lst.seen) < changes + 1 for lst in listeners):
        await asyncio.sleep(0.1)
    latencies, lost = [], 0
    for listener in listeners:
        for mark, started in sent.items():
            if mark in listener.seen:
                latencies.append(listener.seen[mark] - started)
            else:
                lost += 1
    cold_latencies = [listener.seen[cold] - cold_started for listener in listeners if cold in listener.seen]
    lost += clients - len(cold_latencies)
    await asyncio.gather(*(listener.close() for listener in listeners))
    gc.unfreeze()
    return {
        "p50": percentile(latencies, 50) * 1000,
        "p99": percentile(latencies, 99) * 1000,
        "max": max(latencies, default=float("nan")) * 1000,
        "lost": lost,
        "change_p50": percentile(answered, 50) * 1000,
        "delivered": len(latencies),
        "cold_p50": percentile(cold_latencies, 50) * 1000,
        "cold_max": max(cold_latencies, default=float("nan")) * 1000,
    }

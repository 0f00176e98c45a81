"""The clients: one HTTP connection per team (each team is one browser), opened before the load,
and the figures they report."""

import asyncio
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0–100) of the values; NaN when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class Run:
    """What a load run saw: latencies in seconds, answers by status, and its wall time."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    filled: dict[str, int] = field(default_factory=dict)  # per team token: orders answered 201

    def record(self, seconds: float, status: int) -> None:
        self.latencies.append(seconds)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0

    def ms(self, p: float) -> float:
        return percentile(self.latencies, p) * 1000


class Team:
    """A team's own connection and token."""

    def __init__(self, base: str, token: str):
        self.base = base
        self.token = token
        self.session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        connector = aiohttp.TCPConnector(limit=1, force_close=False)
        self.session = aiohttp.ClientSession(
            connector=connector,
            headers={"Authorization": f"Token {self.token}", "Content-Type": "application/json"},
            timeout=aiohttp.ClientTimeout(total=60),
        )
        async with self.session.get(f"{self.base}/bench/ping") as response:  # the connection, open
            await response.read()

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def request(self, method: str, path: str, body: dict | None, run: Run, expect: int) -> int:
        data = json.dumps(body) if body is not None else None
        started = time.perf_counter()
        try:
            async with self.session.request(method, f"{self.base}{path}", data=data) as response:
                await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            run.errors.append(f"{method} {path}: {exc!r}")
            return 0
        run.record(time.perf_counter() - started, status)
        if status != expect:
            run.errors.append(f"{method} {path}: {status}")
        return status


async def open_teams(bases: Callable[[int], str], tokens: list[str], batch: int = 100) -> list[Team]:
    teams = [Team(bases(i), token) for i, token in enumerate(tokens)]
    for start in range(0, len(teams), batch):
        await asyncio.gather(*(team.open() for team in teams[start : start + batch]))
    return teams


async def close_teams(teams: list[Team]) -> None:
    await asyncio.gather(*(team.close() for team in teams))


async def burst(teams: list[Team], orders: Callable[[int], list[tuple[str, dict]]], expect: int) -> Run:
    """Every team sends its orders one after another, all teams at once; `orders(i)` gives team i's
    (path, body) list. The clock runs from the first send to the last answer."""
    run = Run()

    async def one(i: int, team: Team) -> None:
        for path, body in orders(i):
            if await team.request("POST", path, body, run, expect) == expect:
                run.filled[team.token] = run.filled.get(team.token, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(one(i, team) for i, team in enumerate(teams)))
    run.elapsed = time.perf_counter() - started
    return run


async def sustained(
    teams: list[Team], order: Callable[[int, int], tuple[str, dict]], seconds: float, expect: int
) -> Run:
    """Every team sends order after order (`order(i, n)`) until `seconds` have passed."""
    run = Run()
    deadline = time.perf_counter() + seconds

    async def one(i: int, team: Team) -> None:
        n = 0
        while time.perf_counter() < deadline:
            path, body = order(i, n)
            if await team.request("POST", path, body, run, expect) == expect:
                run.filled[team.token] = run.filled.get(team.token, 0) + 1
            n += 1

    started = time.perf_counter()
    await asyncio.gather(*(one(i, team) for i, team in enumerate(teams)))
    run.elapsed = time.perf_counter() - started
    return run


async def reads(connections: list[Team], tokens: list[str], path: str, count: int) -> tuple[Run, set[str]]:
    """`count` GETs of `path`, one at a time on each connection, each as the next team in turn;
    also the set of query counts the server reported (X-Queries)."""
    run = Run()
    queries: set[str] = set()
    queue = iter(range(count))

    async def worker(connection: Team) -> None:
        for n in queue:
            token = tokens[(n * 7919) % len(tokens)]
            started = time.perf_counter()
            async with connection.session.get(
                f"{connection.base}{path}", headers={"Authorization": f"Token {token}"}
            ) as response:
                await response.read()
                run.record(time.perf_counter() - started, response.status)
                queries.add(response.headers.get("X-Queries", "?"))
                if response.status != 200:
                    run.errors.append(f"GET {path}: {response.status}")

    started = time.perf_counter()
    await asyncio.gather(*(worker(connection) for connection in connections))
    run.elapsed = time.perf_counter() - started
    return run, queries

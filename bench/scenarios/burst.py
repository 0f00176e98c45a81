"""The bell burst (every team's two orders the moment the market opens), where a trade's time goes,
and sustained trading."""

import asyncio
import statistics
from collections import Counter

import aiohttp

from bench import data
from bench.environment import SERVER_ENV
from bench.load import Run, burst, close_teams, open_teams, sustained
from bench.report import errors_and_ledger, fresh_event, ms, row
from bench.servers import Cluster


def orders_for(stocks):
    def orders(i: int) -> list[tuple[str, dict]]:
        stock = stocks[i % len(stocks)].ticker
        return [
            ("/api/transactions", {"ticker": stock, "type": "buy", "quantity": 10}),
            ("/api/transactions", {"ticker": stock, "type": "sell", "quantity": 4}),
        ]

    return orders


def ping_orders(orders):
    return lambda i: [("/bench/ping", body) for _, body in orders(i)]


def bell_burst(kind: str = "daphne", processes: int = 1, teams: int = 300, label: str | None = None) -> dict:
    stocks = fresh_event(10)
    made = data.teams(teams)
    tokens = [token for _, token in made]
    orders = orders_for(stocks)

    async def go() -> tuple[Run, Run]:
        with Cluster(kind, SERVER_ENV, processes) as cluster:
            clients = await open_teams(cluster.base, tokens)
            try:
                baseline = await burst(clients, ping_orders(orders), expect=200)
                await asyncio.to_thread(data.open_market)
                trades = await burst(clients, orders, expect=201)
            finally:
                await close_teams(clients)
            return baseline, trades

    baseline, trades = asyncio.run(go())
    ledger = data.check_ledger(trades.filled)
    return {"label": label or f"{kind} ×{processes}", "baseline": baseline, "trades": trades, "ledger": ledger}


def scenario_burst(quick: bool) -> None:
    print("\nBell burst: 300 teams × 2 orders the moment the market opens (Daphne, 1 process)")
    result = bell_burst()
    baseline, trades, ledger = result["baseline"], result["trades"], result["ledger"]
    ratio = trades.rate / baseline.rate
    row("burst", "orders/s (baseline: bare JSON)", f"{trades.rate:.0f}/s", f"{baseline.rate:.0f}/s")
    row("burst", "trades/s ÷ baseline req/s", f"{ratio:.0%}", "", "≥ 35%", ratio >= 0.35)
    row("burst", "p50 latency", ms(trades.ms(50)), ms(baseline.ms(50)))
    row("burst", "p99 latency", ms(trades.ms(99)), ms(baseline.ms(99)), "≤ 250 ms", trades.ms(99) <= 250)
    errors_and_ledger("burst", [trades, baseline], ledger)


# Where a trade's time goes


LAYERS = (  # each adds one layer of the trade request to the one before
    ("bare Django view", "/bench/ping", 200),
    ("+ DRF, API token, permission", "/bench/api", 201),
    ("+ order validated", "/bench/validated", 201),
    ("+ trade allowance", "/bench/allowance", 201),
    ("+ the trade (the product)", "/api/transactions", 201),
)


def scenario_anatomy(quick: bool) -> None:
    rounds = 1 if quick else 3
    print(
        "\nAnatomy of a trade: the bell burst against each layer of the trade request in turn, in one"
        f" server, {rounds} round(s) (median): requests/s and share of the bare view's; time per request"
        " (what the layer added)"
    )
    stocks = fresh_event(10)
    tokens = [token for _, token in data.teams(300)]
    orders = orders_for(stocks)

    def to(path: str):
        return lambda i: [(path, body) for _, body in orders(i)]

    async def go() -> dict[str, list[Run]]:
        runs: dict[str, list[Run]] = {path: [] for _, path, _ in LAYERS}
        with Cluster("daphne", SERVER_ENV) as cluster:
            clients = await open_teams(cluster.base, tokens)
            await asyncio.to_thread(data.open_market)
            try:
                for _ in range(rounds):
                    for _, path, status in LAYERS:
                        runs[path].append(await burst(clients, to(path), expect=status))
            finally:
                await close_teams(clients)
        return runs

    runs = asyncio.run(go())
    ledger = data.check_ledger(dict(sum((Counter(run.filled) for run in runs["/api/transactions"]), Counter())))
    rates = {path: statistics.median(run.rate for run in runs[path]) for _, path, _ in LAYERS}
    bare, before = rates["/bench/ping"], None
    for label, path, _ in LAYERS:
        each = 1000 / rates[path]
        added = f" (+{each - before:.2f})" if before is not None else ""
        row("anatomy", label, f"{rates[path]:.0f}/s, {rates[path] / bare:.0%}", f"{each:.2f} ms{added}")
        before = each
    # The burst's target, trades/s at least 35% of the bare view's requests/s, in time per request:
    row("anatomy", "a trade's time at 35% of bare", "", f"{1000 / (0.35 * bare):.2f} ms")
    errors_and_ledger("anatomy", [run for path_runs in runs.values() for run in path_runs], ledger)


# Sustained trading


def scenario_sustained(quick: bool) -> None:
    seconds = 15 if quick else 60
    print(f"\nSustained trading: 200 teams trading continuously for {seconds} s (baseline: 15 s of bare JSON)")
    stocks = fresh_event(10)
    made = data.teams(200)
    tokens = [token for _, token in made]

    def order(i: int, n: int) -> tuple[str, dict]:
        stock = stocks[(i + n // 2) % len(stocks)].ticker
        return "/api/transactions", {"ticker": stock, "type": "buy" if n % 2 == 0 else "sell", "quantity": 5}

    async def go() -> tuple[Run, Run]:
        with Cluster("daphne", SERVER_ENV) as cluster:
            clients = await open_teams(cluster.base, tokens)
            try:
                baseline = await sustained(clients, lambda i, n: ("/bench/ping", order(i, n)[1]), 15, expect=200)
                await asyncio.to_thread(data.open_market)
                trades = await sustained(clients, order, seconds, expect=201)
                async with aiohttp.ClientSession() as session, session.get(f"{cluster.base(0)}/bench/heap") as answer:
                    heap = await answer.json()
            finally:
                await close_teams(clients)
            return baseline, trades, heap

    baseline, trades, heap = asyncio.run(go())
    ledger = data.check_ledger(trades.filled)
    row("sustained", "trades/s (baseline: bare JSON)", f"{trades.rate:.0f}/s", f"{baseline.rate:.0f}/s")
    row("sustained", "trades/s ÷ baseline req/s", f"{trades.rate / baseline.rate:.0%}")
    row("sustained", "p50 latency", ms(trades.ms(50)), ms(baseline.ms(50)))
    row("sustained", "p99 latency", ms(trades.ms(99)), ms(baseline.ms(99)))
    # Two events a trade (its `trade` and the team's `portfolio`): still waiting at the end means
    # screens see the trades late, and later the longer the trading lasts.
    behind = heap["outbox"] / (2 * trades.rate) if trades.rate else float("inf")
    row(
        "sustained",
        "live events unsent at the end",
        f"{heap['outbox']} ({behind:.1f} s)",
        "",
        "< 1 s of them",
        behind < 1,
    )
    errors_and_ledger("sustained", [trades, baseline], ledger)

"""Orders that wait (SPEC §4b): 300 teams' thousand resting orders, all made due by one price change
of the organiser's and filled on the server's order desk; against the bell burst's trades/s,
measured in the same run (docs/performance.md)."""

import asyncio
import json
import statistics
import time
from collections import Counter
from decimal import Decimal

import aiohttp
from django.conf import settings
from django.db import connections

from bench import data
from bench.environment import OVERLAY_TOKEN, SERVER_ENV
from bench.load import Run, burst, close_teams, open_teams
from bench.report import errors_and_ledger, fresh_event, ms, row
from bench.scenarios.burst import bell_burst
from bench.screens import Screen
from bench.servers import LOGS, Cluster
from market.models import Order
from market.money import money

TEAMS = 300
ORDERS = 1000
SAMPLE = 30  # teams whose own connection (`own`) counts their `order` and `portfolio` events
QUIET_CHANGES = 3  # the same price change with nothing due, before the orders: the answer's baseline
FILL_DEADLINE = 60.0  # seconds to wait for the fills (the target is 5)
SETTLE = 10.0  # seconds more for the last events to reach the connections


def orders_of(team: int) -> int:
    """How many of the thousand orders team `team` places (4 for the first hundred, then 3)."""
    return ORDERS // TEAMS + (1 if team < ORDERS % TEAMS else 0)


def book(ticker: str, price: Decimal):
    """Each team's orders, all of one stock, none due at `price` and all due 10% below it: first a
    stop-loss for one of its shares 3% below, then limit buys of ten shares 1–5% below."""

    def orders(i: int) -> list[tuple[str, dict]]:
        placed = [("/api/orders", {"ticker": ticker, "type": "sell", "quantity": 1, "kind": "stop",
                                   "price": str(money(price * Decimal("0.97")))})]  # fmt: skip
        for n in range(1, orders_of(i)):
            limit = money(price * (1 - Decimal(1 + (i + n) % 5) / 100))
            placed.append(
                ("/api/orders", {"ticker": ticker, "type": "buy", "quantity": 10, "kind": "limit", "price": str(limit)})
            )
        return placed

    return orders


def order_book_data() -> dict:
    """A fresh event, the market open, every team holding a few shares of the stock the change will
    move (so the change revalues them, as on event day), and a browser session for the sample."""
    stocks = fresh_event(10)
    made = data.teams(TEAMS)
    data.open_market()
    data.history([team for team, _ in made], stocks[:1], per_team=1)  # 1–3 shares of CO00 each
    sampled = made[:: TEAMS // SAMPLE][:SAMPLE]
    return {
        "company": stocks[0],
        "tokens": [token for _, token in made],
        "expected": {token: 1 + orders_of(i) for i, (_, token) in enumerate(made)},  # its history's trade too
        "admin": data.admin_token(),
        "sample": [team.pk for team, _ in sampled],
        "cookies": data.sessions([team.user for team, _ in sampled]),
    }


def open_count() -> int:
    return Order.objects.filter(status="open").count()


def filled_count() -> int:
    return Order.objects.filter(status="filled").count()


def heard(screen: Screen) -> int:
    """The frames of a fill a connection has had so far: `trade` on the tape; `order` and
    `portfolio` on a team's own (not its `rank`s)."""
    kinds = ('{"type": "trade"',) if screen.kind == "tape" else ('{"type": "order"', '{"type": "portfolio"')
    return sum(raw.startswith(kinds) for _, raw in screen.raw)


async def triggered(cluster: Cluster, event: dict) -> dict:
    """The quiet changes, the orders placed through the API, the tape and the sample's own
    connections opened, then the one change that makes every order due, and the wait for the fills."""
    base, company = cluster.base(0), event["company"]
    ws = base.replace("http://", "ws://") + "/api/ws"
    path = f"{base}/api/admin/companies/{company.pk}"
    clients = await open_teams(cluster.base, event["tokens"])
    screens: list[Screen] = []
    try:
        async with aiohttp.ClientSession(headers={"Authorization": f"Token {event['admin']}"}) as admin:

            async def change(price: Decimal) -> tuple[float, float, int]:
                """(when sent, wall clock; seconds to the answer; its status)."""
                sent, started = time.time(), time.perf_counter()
                async with admin.patch(path, json={"current_price": str(price)}) as answer:
                    await answer.read()
                return sent, time.perf_counter() - started, answer.status

            # The change with no order waiting, up a cent and down again (the first apart: a
            # process's first pays for what it does once). Each after a pause as long as the
            # teams' rank events' interval, as before the change that fills: a change after a quiet
            # moment builds the leaderboard and every team's rank before it answers (market/events.py).
            price, quiet, statuses = company.current_price, [], []
            for k in range(QUIET_CHANGES + 1):
                price += Decimal("0.01") if k % 2 == 0 else Decimal("-0.01")
                _, seconds, status = await change(price)
                quiet += [seconds] if k else []
                statuses.append(status)
                await asyncio.sleep(settings.RANK_EVENT_INTERVAL + 0.5)

            placing = await burst(clients, book(company.ticker, price), expect=201)
            resting = await asyncio.to_thread(open_count)
            before = await asyncio.to_thread(data.check_reservations)

            screens.append(Screen("tape", f"{ws}?token={OVERLAY_TOKEN}&topics=trades", "trades"))
            screens += [Screen(f"own {pk}", f"{ws}?topics=own", "own", cookie=c) for pk, c in
                        zip(event["sample"], event["cookies"], strict=True)]  # fmt: skip
            await asyncio.gather(*(screen.open() for screen in screens))
            await asyncio.sleep(1.0)  # every snapshot in, the connections quiet

            started = time.perf_counter()
            sent, answered, status = await change(money(price * Decimal("0.90")))
            statuses.append(status)
            deadline = started + FILL_DEADLINE
            while time.perf_counter() < deadline and await asyncio.to_thread(filled_count) < resting:
                await asyncio.sleep(0.1)
            deadline = time.perf_counter() + SETTLE
            # Every fill's `trade` on the tape, and each sampled team's `order` and `portfolio` per fill.
            expected = resting + 2 * sum(orders_of(i) for i in range(0, TEAMS, TEAMS // SAMPLE))
            while time.perf_counter() < deadline and sum(heard(s) for s in screens) < expected:
                await asyncio.sleep(0.1)
    finally:
        await close_teams(clients)
        await asyncio.gather(*(screen.close() for screen in screens), return_exceptions=True)
    return {
        "placing": placing,
        "resting": resting,
        "before": before,
        "quiet": statistics.median(quiet),
        "sent": sent,
        "started": started,
        "answered": answered,
        "statuses": statuses,
        "screens": screens,
    }


def server_errors(cluster: Cluster) -> list[str]:
    """The server's own log lines at ERROR or above (the order desk logs a pass that failed)."""
    lines = []
    for server in cluster.servers:
        for line in (LOGS / f"{server.kind}-{server.port}.log").read_text(errors="replace").splitlines():
            try:
                level = json.loads(line).get("level")
            except (ValueError, AttributeError):
                level = "ERROR" if "Traceback" in line else None
            if level in ("ERROR", "CRITICAL"):
                lines.append(f"server log: {line[:200]}")
    return lines


def fills_figures(event: dict, run: dict) -> dict:
    """The fills as the database recorded them (`filled_at`, the server's clock, which is this
    machine's), and the events each connection heard of them."""
    orders = list(Order.objects.values_list("participant_id", "pk", "status", "filled_at", "transaction_id"))
    filled = sorted(at.timestamp() for _, _, status, at, _ in orders if status == "filled")
    trades = {str(trade) for _, _, status, _, trade in orders if status == "filled"}
    tape, *own = run["screens"]
    on_tape, last_heard = set(), None
    for arrived, raw in tape.raw:
        message = json.loads(raw)
        if message["type"] == "trade" and message["data"]["id"] in trades:
            on_tape.add(message["data"]["id"])
            last_heard = arrived
    missing = [f"tape: `trade` {trade}" for trade in sorted(trades - on_tape)]
    missing += [f"{s.kind}: closed by the server ({s.closed_with})" for s in run["screens"] if s.closed_with]
    for team, screen in zip(event["sample"], own, strict=True):
        mine = [(str(pk), str(trade)) for who, pk, status, _, trade in orders if who == team and status == "filled"]
        got_orders, got_trades = set(), set()
        for _, raw in screen.raw:
            message = json.loads(raw)
            if message["type"] == "order" and message["data"]["status"] == "filled":
                got_orders.add(message["data"]["id"])
            elif message["type"] == "portfolio" and message["data"].get("transaction"):
                got_trades.add(message["data"]["transaction"]["id"])
        missing += [f"team {team}: `order` {pk} filled" for pk, _ in mine if pk not in got_orders]
        missing += [f"team {team}: `portfolio` with trade {trade}" for _, trade in mine if trade not in got_trades]
    answer = run["sent"] + run["answered"]
    return {
        "statuses_after": Counter(status for _, _, status, _, _ in orders if status != "filled"),
        "filled": len(filled),
        "rate": len(filled) / (filled[-1] - answer) if filled else 0.0,
        "span_rate": (len(filled) - 1) / (filled[-1] - filled[0]) if len(filled) > 1 else 0.0,
        "to_first": filled[0] - answer if filled else float("nan"),
        "to_last": filled[-1] - run["sent"] if filled else float("inf"),
        "tape_last": last_heard - run["started"] if last_heard is not None else float("inf"),
        "lost": missing,
        "sampled": sum(len(s.raw) > 0 for s in own),
    }


def scenario_orders(quick: bool) -> None:
    rounds = 1 if quick else 3
    print(
        f"\nOrders that wait: {TEAMS} teams' {ORDERS} resting orders of one stock (limit buys, stop-losses),"
        " placed through the API, all made due by one price change (the organiser's PATCH) and filled on"
        f" the order desk; the tape and {SAMPLE} teams' own connections listening. Baseline: the bell burst's"
        f" trades/s; {rounds} round(s) each, in turn"
    )
    bursts, runs, problems = [], [], Run()
    for _ in range(rounds):
        bursts.append(bell_burst())
        connections.close_all()
        event = order_book_data()
        with Cluster("daphne", SERVER_ENV) as cluster:
            run = asyncio.run(triggered(cluster, event))
        run.update(fills_figures(event, run))
        problems.errors += server_errors(cluster)
        problems.errors += [f"price change answered {s}" for s in run["statuses"] if s != 200]
        problems.errors += run["placing"].errors
        problems.errors += [f"orders {status} after the change: {n}" for status, n in run["statuses_after"].items()]
        run["ledger"] = data.check_ledger(event["expected"])
        runs.append(run)
        connections.close_all()
    report(bursts, runs)
    ledgers = [r["ledger"] for r in runs] + [b["ledger"] for b in bursts]  # every run's teams, together
    wrong = [line for ledger in ledgers for line in ledger.wrong]
    ledger = data.Ledger(sum(ledger.teams for ledger in ledgers), sum(ledger.trades for ledger in ledgers), wrong)
    errors_and_ledger("orders", [problems, *(b["trades"] for b in bursts)], ledger)


def report(bursts: list[dict], runs: list[dict]) -> None:
    def each(values, form: str = "{:.0f}") -> str:
        return " ".join(form.format(value) for value in values)

    placing = statistics.median(r["placing"].rate for r in runs)
    row("orders", "orders placed/s (resting, the API)", f"{placing:.0f}/s", "", "", None)
    resting = [r["resting"] for r in runs]
    row("orders", "orders resting before the change", each(resting), "", f"{ORDERS}", all(n == ORDERS for n in resting))
    wrong_before = [line for r in runs for line in r["before"]]
    exact = "yes" if not wrong_before else f"no ({len(wrong_before)} wrong)"
    row("orders", "reservations exact before the change", exact, "", "yes", not wrong_before)
    for line in wrong_before[:5]:
        print(f"    {line}")
    rate = statistics.median(r["rate"] for r in runs)
    burst_rate = statistics.median(b["trades"].rate for b in bursts)
    ratio = rate / burst_rate if burst_rate else 0.0
    # fills/s: filled orders ÷ (last fill's `filled_at` − the change's answer at the client).
    row("orders", "fills/s (baseline: burst trades/s)", f"{rate:.0f}/s", f"{burst_rate:.0f}/s")
    row("orders", "fills/s ÷ burst trades/s", f"{ratio:.1f}×", "", "≥ 2×", ratio >= 2)
    row("orders", "  each run, fills / burst", each(r["rate"] for r in runs), each(b["trades"].rate for b in bursts))
    row("orders", "  fills/s first → last fill", each(r["span_rate"] for r in runs))
    row("orders", "  answer → first fill", each((r["to_first"] * 1000 for r in runs), "{:.0f} ms"))
    to_last = statistics.median(r["to_last"] for r in runs)
    row("orders", "change sent → last fill", f"{to_last:.2f} s", "", "≤ 5 s", to_last <= 5)
    row("orders", "  each run", each((r["to_last"] for r in runs), "{:.2f} s"))
    filled = [r["filled"] for r in runs]
    row("orders", "orders filled", each(filled), "", f"{ORDERS} each", all(n == ORDERS for n in filled))
    answered = statistics.median(r["answered"] for r in runs)
    quiet = statistics.median(r["quiet"] for r in runs)
    # The answer must not wait for the fills: it comes long before the last (a tenth of the time).
    early = all(r["answered"] <= r["to_last"] / 10 for r in runs)
    label = "change answered (baseline: none due)"
    row("orders", label, ms(answered * 1000), ms(quiet * 1000), "≤ ⅒ of change → last fill", early)
    row(
        "orders",
        "  each run",
        each((r["answered"] * 1000 for r in runs), "{:.0f} ms"),
        each((r["quiet"] * 1000 for r in runs), "{:.0f} ms"),
    )
    tape = statistics.median(r["tape_last"] for r in runs)
    row("orders", "change sent → last trade on the tape", f"{tape:.2f} s")
    lost = [line for r in runs for line in r["lost"]]
    sampled = min(r["sampled"] for r in runs)
    row("orders", f"events lost (tape; {sampled} teams' own)", str(len(lost)), "", "0", not lost)
    for line in lost[:5]:
        print(f"    {line}")

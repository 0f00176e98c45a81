"""Fan-out: one price change to every open socket, against a bare broadcast; and the burst and the
fan-out on each way of serving."""

import asyncio
import json

import aiohttp
import websockets

from bench import data
from bench.environment import OVERLAY_TOKEN, SERVER_ENV
from bench.fanout import fan_out
from bench.report import fresh_event, ms, row
from bench.scenarios.burst import bell_burst
from bench.servers import Cluster


def fanout_figures(
    quick: bool, kind: str = "daphne", baseline_too: bool = True, processes: int = 1
) -> tuple[dict, dict | None]:
    clients, changes = (300, 10) if quick else (1000, 20)
    stocks = fresh_event(1)
    data.open_market()
    # Every team holds the stock: each change revalues them and moves the leaderboard, whose
    # event then follows the price to every screen, as on event day.
    data.history([team for team, _ in data.teams(300)], stocks, per_team=1)
    token = data.admin_token()
    ticker, company_id = stocks[0].ticker, stocks[0].pk

    async def ours() -> dict:
        with Cluster(kind, SERVER_ENV, processes) as cluster:
            base = cluster.base(0)
            async with aiohttp.ClientSession(headers={"Authorization": f"Token {token}"}) as admin:

                async def change(k: int) -> str:
                    price = f"{100 + k}.25"
                    async with admin.patch(
                        f"{base}/api/admin/companies/{company_id}", json={"current_price": price}
                    ) as response:
                        await response.read()
                        if response.status != 200:
                            raise RuntimeError(f"price change answered {response.status}")
                    return price

                def mark_of(event: dict) -> str | None:
                    return event["data"]["price"] if event.get("type") == "price" else None

                urls = [f"ws://127.0.0.1:{server.port}/api/ws?token={OVERLAY_TOKEN}" for server in cluster.servers]
                return await fan_out(urls, clients, changes, change, mark_of)

    async def baseline() -> dict:
        with Cluster("ws-baseline", SERVER_ENV) as cluster:
            port = cluster.servers[0].port
            async with websockets.connect(f"ws://127.0.0.1:{port}/publish") as publisher:

                async def change(k: int) -> str:
                    price = f"{100 + k}.25"
                    await publisher.send(json.dumps({"type": "price", "data": {"ticker": ticker, "price": price}}))
                    return price

                def mark_of(event: dict) -> str | None:
                    return event["data"]["price"] if event.get("type") == "price" else None

                return await fan_out(f"ws://127.0.0.1:{port}/", clients, changes, change, mark_of)

    return asyncio.run(ours()), asyncio.run(baseline()) if baseline_too else None


def _pair(figures: dict) -> str:
    return f"{figures['cold_p50']:.0f} / {figures['cold_max']:.0f} ms"


def scenario_fanout(quick: bool) -> None:
    clients, changes = (300, 10) if quick else (1000, 20)
    print(f"\nFan-out: {clients} WebSocket clients, {changes} price changes (baseline: a bare `websockets` broadcast)")
    got, base = fanout_figures(quick)
    row("fan-out", "first change (apart): p50 / max", _pair(got), _pair(base))
    row("fan-out", "change answered, p50", ms(got["change_p50"]), ms(base["change_p50"]))
    row("fan-out", "p50 delivery", ms(got["p50"]), ms(base["p50"]))
    ok = got["p99"] <= 3 * base["p99"] and got["p99"] < 200
    row("fan-out", "p99 delivery", ms(got["p99"]), ms(base["p99"]), "≤ 3× baseline, < 200 ms", ok)
    row("fan-out", "max delivery", ms(got["max"]), ms(base["max"]))
    row("fan-out", "messages lost", str(got["lost"]), str(base["lost"]), "0", got["lost"] == 0)


def scenario_servers(quick: bool) -> None:
    print(
        "\nBy server: the bell burst on Daphne (uvloop), Daphne on asyncio's own loop, Uvicorn, and two Daphne"
        " processes sharing Redis (teams split between them); the fan-out on the last three"
    )
    for kind, processes in (("daphne", 1), ("daphne-asyncio", 1), ("uvicorn", 1), ("daphne", 2)):
        result = bell_burst(kind, processes)
        trades, baseline = result["trades"], result["baseline"]
        ok = not trades.errors and not result["ledger"].wrong
        row(
            "servers",
            f"{result['label']}: trades/s, p99",
            f"{trades.rate:.0f}/s {trades.ms(99):.0f} ms",
            f"{baseline.rate:.0f}/s {baseline.ms(99):.0f} ms",
            "0 errors, ledger exact",
            ok,
        )
    for kind, processes in (("daphne-asyncio", 1), ("uvicorn", 1), ("daphne", 2)):
        got, _ = fanout_figures(quick, kind, baseline_too=False, processes=processes)
        figures = f"{got['p50']:.0f} ms {got['p99']:.0f} ms"
        row("servers", f"{kind} ×{processes}: fan-out p50, p99", figures, "", "0 lost", not got["lost"])

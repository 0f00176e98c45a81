"""Event day: the bell burst with every team's page open, the overlays and the control room, the
organiser changing prices and publishing a headline during it (docs/performance.md)."""

import asyncio
import statistics
import time
from collections import Counter

import aiohttp
from django.core.management import call_command
from django.db import connections

from accounts.models import User
from bench import data
from bench.environment import METRICS_TOKEN, OVERLAY_TOKEN, SERVER_ENV
from bench.load import burst, close_teams, open_teams
from bench.report import errors_and_ledger, fresh_event, row
from bench.scenarios.burst import orders_for
from bench.screens import (
    CONTROL_ROOM,
    OVERLAY_PAGES,
    TEAM_PAGES,
    Browsers,
    Director,
    Screen,
    browsers_wanted,
    cpu_seconds,
    delays,
    page_topics,
    percentile,
    resident_mib,
    scrape,
    summary,
)
from bench.servers import Cluster
from market import services
from market.models import Company

EVENT_DAY_TEAMS = 300


def event_day_data(teams: int) -> dict:
    """A fresh event: teams that each hold the stock the organiser will move, a first day over,
    and a browser session per team (its pages' cookie)."""
    stocks = fresh_event(10)
    made = data.teams(teams)
    data.open_market()
    data.history([team for team, _ in made], stocks[:1], per_team=1)  # every team holds CO00
    services.market_close(by=None)  # the burst opens day 2, with the screens watching
    admin = data.admin_token()
    organiser = User.objects.get(email="organiser@bench.example")
    cookies = data.sessions([team.user for team, _ in made] + [organiser])
    return {
        "stocks": stocks,
        "tokens": [token for _, token in made],
        "cookies": cookies[:-1],
        "admin_cookie": cookies[-1],
        "admin": admin,
        "ticker": stocks[0].ticker,
        "company_id": str(stocks[0].pk),
    }


async def open_screens(base: str, event: dict, audience: str) -> tuple[list[Screen], Browsers | None]:
    """Every page's live connection, with the topics the page itself asks for: the teams' pages
    (five of them real pages in Chromium when `audience` is "pages" and it is installed), the
    overlays and the control room."""
    if audience == "none":
        return [], None
    team_topics = {path: await page_topics(base, path, cookie=event["cookies"][0]) for path in TEAM_PAGES}
    overlay_topics = {path: await page_topics(base, path, token=OVERLAY_TOKEN) for path in OVERLAY_PAGES}
    room_topics = await page_topics(base, CONTROL_ROOM, cookie=event["admin_cookie"])
    ws = base.replace("http://", "ws://") + "/api/ws"
    real = len(TEAM_PAGES) if audience == "pages" and browsers_wanted() else 0
    screens = []
    for i, cookie in enumerate(event["cookies"][: len(event["cookies"]) - real]):
        path = TEAM_PAGES[i % len(TEAM_PAGES)]
        screens.append(Screen(path, f"{ws}?topics={team_topics[path]}", team_topics[path], cookie=cookie))
    for path, topics in overlay_topics.items():
        screens.append(Screen("overlay " + path, f"{ws}?token={OVERLAY_TOKEN}&topics={topics}", topics))
    screens.append(Screen("control room", f"{ws}?topics={room_topics}", room_topics, cookie=event["admin_cookie"]))
    for start in range(0, len(screens), 50):
        await asyncio.gather(*(screen.open() for screen in screens[start : start + 50]))
    if not real:
        return screens, None
    browsers = Browsers(base)
    await browsers.open(event["cookies"][-real:])
    return screens, browsers


async def event_day_burst(cluster, event: dict, audience: str) -> dict:
    """The burst, the organiser's changes during it, and the closing bell after. `audience`: "none";
    "screens", every page's connection open throughout; "pages", the same with five of them real
    team pages in Chromium (when installed), whose requests the server counts."""
    base = cluster.base(0)
    pid = cluster.servers[0].process.pid
    screens, browsers = await open_screens(base, event, audience)
    clients = await open_teams(cluster.base, event["tokens"])
    director = Director(base, event["admin"], event["company_id"], event["ticker"])
    try:
        async with aiohttp.ClientSession(headers={"Authorization": f"Token {event['admin']}"}) as admin:
            async with admin.post(f"{base}/api/admin/market/open") as answer:
                await answer.read()
            await asyncio.sleep(1.0)  # the start bell on every screen, and the leaderboard after it
            before = await scrape(base, METRICS_TOKEN)
            cpu_before = cpu_seconds(pid)
            started = time.perf_counter()
            trades, _ = await asyncio.gather(
                burst(clients, orders_for(event["stocks"]), expect=201), director.run(started)
            )
            ended = time.perf_counter()
            cpu = cpu_seconds(pid) - cpu_before
            after = await scrape(base, METRICS_TOKEN)
            await asyncio.sleep(1.0)
            async with admin.post(f"{base}/api/admin/market/close") as answer:
                await answer.read()
            deadline = time.perf_counter() + 10
            while time.perf_counter() < deadline and not all(screen.has_end_bell() for screen in screens):
                await asyncio.sleep(0.1)
        memory = resident_mib(pid)
    finally:
        await close_teams(clients)
        if browsers is not None:
            await browsers.close()
        await asyncio.gather(*(screen.close() for screen in screens), return_exceptions=True)
    for screen in screens:
        screen.read()
    return {
        "trades": trades,
        "screens": screens,
        "director": director,
        "window": (started, ended),
        "requests": after - before,
        "memory": memory,
        "cpu_per_trade": cpu / trades.count * 1000 if trades.count else float("nan"),
        "browsers": len(browsers.pages) if browsers else 0,
    }


def scenario_eventday(quick: bool) -> None:
    teams = 100 if quick else EVENT_DAY_TEAMS
    rounds = 1 if quick else 4
    print(
        f"\nEvent day: the bell burst ({teams} teams × 2 orders) with every team's page open (its socket, its"
        " topics), the 5 overlays and the control room; 3 price changes of a stock every team holds and a"
        f" headline during the burst. Baseline: the same with no screen open; {rounds} round(s) each, in turn;"
        " then once more with 5 of the team pages real, in Chromium"
    )
    # The pages are served as in production: their static files collected (staticfiles/, not in git).
    call_command("collectstatic", interactive=False, verbosity=0)
    runs: dict[str, list[dict]] = {"none": [], "screens": [], "pages": []}
    for audience in ["none", "screens"] * rounds + ["pages"]:
        event = event_day_data(teams)
        with Cluster("daphne", SERVER_ENV) as cluster:
            result = asyncio.run(event_day_burst(cluster, event, audience))
        result["ledger"] = data.check_ledger()
        result["final_price"] = Company.objects.get(ticker=event["ticker"]).current_price
        runs[audience].append(result)
        connections.close_all()
    report_trading(runs["screens"], runs["none"])
    report_delivery(runs["screens"] + runs["pages"], last=runs["screens"][-1])
    report_frames(runs["screens"][-1])
    report_requests(runs["pages"][-1])
    last, last_quiet = runs["screens"][-1], runs["none"][-1]
    row("event day", "server memory at the end", f"{last['memory']:.0f} MiB", f"{last_quiet['memory']:.0f} MiB")
    everything = [run for kind in runs.values() for run in kind]
    ledgers = [run["ledger"] for run in everything]  # every run's teams, together
    wrong = [line for ledger in ledgers for line in ledger.wrong]
    combined = data.Ledger(sum(ledger.teams for ledger in ledgers), sum(ledger.trades for ledger in ledgers), wrong)
    errors_and_ledger("event day", [run["trades"] for run in everything], combined)


def report_trading(full: list[dict], quiet: list[dict]) -> None:
    """Trades per second, processor time and latency with every screen open, against none."""
    rate = statistics.median(run["trades"].rate for run in full)
    base_rate = statistics.median(run["trades"].rate for run in quiet)
    ratio = rate / base_rate
    row("event day", "trades/s (baseline: no screens)", f"{rate:.0f}/s", f"{base_rate:.0f}/s")
    row("event day", "trades/s with ÷ without", f"{ratio:.0%}", "", "≥ 90%", ratio >= 0.9)
    each = " ".join(f"{run['trades'].rate:.0f}" for run in full)
    row("event day", "  each run, with / without", each, " ".join(f"{run['trades'].rate:.0f}" for run in quiet))
    cpu = statistics.median(run["cpu_per_trade"] for run in full)
    base_cpu = statistics.median(run["cpu_per_trade"] for run in quiet)
    row("event day", "server processor per trade", f"{cpu:.2f} ms", f"{base_cpu:.2f} ms")

    def latency(runs_of: list[dict]) -> str:
        p50 = statistics.median(run["trades"].ms(50) for run in runs_of)
        p99 = statistics.median(run["trades"].ms(99) for run in runs_of)
        return f"{p50:.0f} / {p99:.0f} ms"

    row("event day", "trade p50 / p99 (medians)", latency(full), latency(quiet))


def report_delivery(watched: list[dict], last: dict) -> None:
    """How soon each change reached the screens that show it, and what never did (each change of
    the `last` run on its own)."""
    price_delays, news_delays, lost, stray, closed, during = [], [], 0, 0, 0, True
    for run in watched:
        screens, director = run["screens"], run["director"]
        started, ended = run["window"]
        during = during and all(started <= at <= ended for _, _, at in director.answered)
        got, missing = delays(screens, [entry for entry in director.answered if entry[0] == "price"])
        price_delays += got
        lost += missing
        got, missing = delays(screens, [entry for entry in director.answered if entry[0] == "news"])
        news_delays += got
        lost += missing
        # Lost: a bell or a headline a screen of its topic never got, or a final price it does not show.
        final = str(run["final_price"])
        for screen in screens:
            if screen.wants("market"):
                lost += sum(not screen.arrival("bell", action) for action in ("start_day", "end_day"))
                lost += screen.last_price(director.ticker) != final
            if not screen.wants("trades"):
                stray += screen.frames(0, float("inf"))["trade"]
        closed += sum(screen.closed_with is not None for screen in screens)
    row("event day", "changes answered during the burst", "all" if during else "not all", "", "all", during)
    for n, change in enumerate(last["director"].answered, 1):
        values, _ = delays(last["screens"], [change])
        at = (change[2] - last["window"][0]) * 1000
        row("event day", f"  {change[0]} {n}, answered at {at:.0f} ms", summary(values))
    for label, values in (("price on screen p50/p99/max", price_delays), ("news on screen p50/p99/max", news_delays)):
        p99 = percentile(values, 99) if values else float("inf")
        row("event day", label, summary(values), "", "p99 ≤ 1 s", p99 <= 1.0)
    row("event day", "bells, news, final prices lost", str(lost), "", "0", lost == 0)
    row("event day", "screens closed by the server", str(closed), "", "", None)
    row("event day", "trade frames to pages without the tape", str(stray), "", "0", stray == 0)


def report_frames(run: dict) -> None:
    """Frames per connection during the burst, by page: nothing a page does not show."""
    started, ended = run["window"]
    by_kind: dict[str, list[Counter]] = {}
    for screen in run["screens"]:
        by_kind.setdefault(screen.kind, []).append(screen.frames(started, ended + 1.0))
    for kind, counts in by_kind.items():
        totals = [sum(count.values()) for count in counts]
        common = sum(counts, Counter()).most_common(4)
        mix = ", ".join(f"{name} {n / len(counts):.0f}" for name, n in common)
        row("event day", f"frames/connection {kind}", f"{statistics.mean(totals):.0f} (max {max(totals)})", mix)


# The orders, the organiser's changes, and this benchmark's own scrape of /metrics around the burst.
EXPECTED_ROUTES = {
    ("POST", "transactions"),
    ("PATCH", "admin-companies-detail"),
    ("POST", "admin-news-list"),
    ("GET", "metrics"),
}


def report_requests(pages: dict) -> None:
    """The requests the server answered during the burst: a real page asks for nothing on an event."""
    caused = {key: n for key, n in pages["requests"].items() if n and key not in EXPECTED_ROUTES}
    shown = ", ".join(f"{method} {route} {n}" for (method, route), n in sorted(pages["requests"].items()) if n)
    row("event day", "requests during the burst", shown or "none")
    if pages["browsers"]:
        label = f"requests caused by events ({pages['browsers']} real pages)"
        row("event day", label, str(sum(caused.values())), "", "0", not caused)
    else:
        row("event day", "requests caused by events", "not measured: no real page (Chromium)", "", "0", None)

"""The event-day audience: every team's page open, the overlays and the control room, each holding
its live connection as the page holds it (the topics it subscribes to, read from the page itself),
and a few real team pages in Chromium to count what pages ask the server while events arrive.

`Screen` is one connection that notes when each event reached it; `Director` is the organiser
changing prices and publishing news during the burst; `Audience` opens and reads them all.
"""

import asyncio
import json
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import websockets
from prometheus_client.parser import text_string_to_metric_families

from bench.load import percentile

TEAM_PAGES = ("/market/", "/portfolio/", "/trade/", "/history/", "/leaderboard/")
OVERLAY_PAGES = ("/overlay/", "/overlay/ticker", "/overlay/leaderboard", "/overlay/news", "/overlay/bell")
CONTROL_ROOM = "/admin/control-room/"
CHROMIUM = "/usr/bin/chromium"
TOPICS = re.compile(r'data-topics="([^"]*)"')


async def page_topics(base: str, path: str, cookie: str | None = None, token: str | None = None) -> str:
    """The topics a page subscribes to, as the server wrote them into the page."""
    headers = {"Cookie": f"sessionid={cookie}"} if cookie else {}
    url = f"{base}{path}" + (f"?token={token}" if token else "")
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers, allow_redirects=False) as answer:
        text = await answer.text()
        found = TOPICS.search(text)
        if answer.status != 200 or found is None:
            raise RuntimeError(f"{path} answered {answer.status} without data-topics")
        return found.group(1)


@dataclass
class Screen:
    """One live connection of a page: `kind` names the page; `seen` is every event with the time it
    arrived (perf_counter) and what marks it (a price, a headline, a bell)."""

    kind: str
    url: str
    topics: str
    cookie: str | None = None
    seen: list[tuple[float, str, str | None]] = field(default_factory=list)
    raw: list[tuple[float, str]] = field(default_factory=list)
    closed_with: int | None = None

    async def open(self) -> None:
        headers = {"Cookie": f"sessionid={self.cookie}"} if self.cookie else {}
        self.connection = await websockets.connect(
            self.url, additional_headers=headers, max_queue=None, open_timeout=60, max_size=None
        )
        first = json.loads(await self.connection.recv())
        if first["type"] != "snapshot":
            raise RuntimeError(f"{self.kind}: the first message was {first['type']}")
        self.task = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        # Frames are kept as they came and read after the run: the clients share the server's two
        # cores, and parsing every frame while it measures would take from the server.
        try:
            async for raw in self.connection:
                self.raw.append((time.perf_counter(), raw))
        except websockets.ConnectionClosed as closed:
            self.closed_with = closed.rcvd.code if closed.rcvd else 1006

    def read(self) -> None:
        """What the frames were: `seen`, with the time each arrived and what marks it."""
        for arrived, raw in self.raw:
            event = json.loads(raw)
            kind, data = event["type"], event.get("data", {})
            mark = None
            if kind == "price":
                mark = f"{data['ticker']}={data['price']}"
            elif kind == "news":
                mark = data["title"]
            elif kind == "bell":
                mark = data["action"]
            self.seen.append((arrived, kind, mark))
            if kind == "bell" and data["action"] == "end_day":
                for company in data.get("companies", []):  # the close: every price as it ends
                    self.seen.append((arrived, "close", f"{company['ticker']}={company['price']}"))
        self.raw = []

    async def close(self) -> None:
        await self.connection.close()
        await self.task

    def has_end_bell(self) -> bool:
        return any('"end_day"' in raw for _, raw in self.raw) or self.arrival("bell", "end_day") is not None

    def arrival(self, kind: str, mark: str) -> float | None:
        return next((at for at, k, m in self.seen if k == kind and m == mark), None)

    def frames(self, since: float, until: float) -> Counter:
        return Counter(kind for at, kind, _ in self.seen if since <= at <= until and kind != "close")

    def last_price(self, ticker: str) -> str | None:
        prices = [m for _, k, m in self.seen if k in ("price", "close") and m and m.startswith(f"{ticker}=")]
        return prices[-1].split("=", 1)[1] if prices else None

    def wants(self, topic: str) -> bool:
        return topic in self.topics.split(",")


class Director:
    """The organiser during the burst: price changes of a stock every team holds, and a headline."""

    PRICE_AT = (0.3, 0.9, 1.5)  # seconds after the first order
    NEWS_AT = 1.2

    def __init__(self, base: str, token: str, company_id: str, ticker: str) -> None:
        self.base, self.token, self.company_id, self.ticker = base, token, company_id, ticker
        self.answered: list[tuple[str, str, float]] = []  # (kind, mark, when the change was answered)

    async def run(self, started: float) -> None:
        headers = {"Authorization": f"Token {self.token}"}
        steps = sorted([(at, "price", f"{101 + n}.25") for n, at in enumerate(self.PRICE_AT)])
        steps.append((self.NEWS_AT, "news", "Breaking: the burst is on"))
        steps.sort()
        async with aiohttp.ClientSession(headers=headers) as session:
            for at, kind, value in steps:
                await asyncio.sleep(max(0.0, started + at - time.perf_counter()))
                if kind == "price":
                    path, body = f"/api/admin/companies/{self.company_id}", {"current_price": value}
                    method, mark = "PATCH", f"{self.ticker}={value}"
                else:
                    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                    path, body = "/api/admin/news", {"title": value, "content": "A headline.", "published_at": now}
                    method, mark = "POST", value
                async with session.request(method, f"{self.base}{path}", json=body) as answer:
                    await answer.read()
                    if answer.status not in (200, 201):
                        raise RuntimeError(f"{method} {path} answered {answer.status}")
                self.answered.append((kind, mark, time.perf_counter()))


async def scrape(base: str, token: str) -> Counter:
    """Requests answered so far, by (method, route), from the server's /metrics."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"}) as answer,
    ):
        text = await answer.text()
    counts: Counter = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "brainstorm_http_requests_total":
                counts[(sample.labels["method"], sample.labels["route"])] += int(sample.value)
    return counts


def cpu_seconds(pid: int) -> float:
    """Processor time a process has used so far (user and system), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def resident_mib(pid: int) -> float:
    """A process's resident memory, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Browsers:
    """Real team pages in Chromium (when it is installed): what they ask the server is counted by
    the server's own /metrics, so the audience is not only our clients' word for it."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.pages = []

    @staticmethod
    def available() -> bool:
        return Path(CHROMIUM).exists()

    async def open(self, cookies: list[str]) -> None:
        from playwright.async_api import async_playwright

        self.playwright = await async_playwright().start()
        self.browser = await self.playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-background-networking"]
        )
        for path, cookie in zip(TEAM_PAGES, cookies, strict=False):
            context = await self.browser.new_context()
            await context.add_cookies([{"name": "sessionid", "value": cookie, "url": self.base}])
            page = await context.new_page()
            await page.goto(f"{self.base}{path}")
            await page.wait_for_function("() => document.body.dataset.online === '1'", timeout=30000)
            self.pages.append(page)

    async def close(self) -> None:
        if self.pages:
            await self.browser.close()
            await self.playwright.stop()


def delays(screens: list[Screen], answered: list[tuple[str, str, float]]) -> tuple[list[float], int]:
    """Seconds from each change's answer to its arrival on each screen subscribed to it, and how
    many such arrivals never happened (a price may be folded into a later one on a slow screen:
    then the later one's arrival counts for it)."""
    got, missing = [], 0
    for kind, mark, answered_at in answered:
        topic = "market" if kind == "price" else "news"
        for screen in screens:
            if not screen.wants(topic):
                continue
            at = screen.arrival(kind, mark)
            if at is None and kind == "price":
                later = [a for a, k, m in screen.seen if k == "price" and a >= answered_at]
                at = later[0] if later else None
            if at is None:
                missing += 1
            else:
                got.append(max(0.0, at - answered_at))
    return got, missing


def summary(values: list[float]) -> str:
    if not values:
        return "—"
    return f"{percentile(values, 50) * 1000:.0f} / {percentile(values, 99) * 1000:.0f} / {max(values) * 1000:.0f} ms"


def browsers_wanted() -> bool:
    """Real pages too, unless Chromium is missing or BENCH_NO_BROWSERS=1 says not to."""
    return os.environ.get("BENCH_NO_BROWSERS") != "1" and Browsers.available()

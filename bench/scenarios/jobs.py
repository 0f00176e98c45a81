"""Background jobs (SPEC §6): a 3,000-team import with generated passwords and the results workbook
of a 3,000-team event, each run as a job by a real worker (`manage.py db_worker`) beside the server,
against the same work answered directly by the server (the baseline, in the same run, in turn):
the job's time from created to done, the server's answer (202), and each process's peak memory."""

import asyncio
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from django.db import connections
from django.utils.dateparse import parse_datetime

from bench import data
from bench.environment import SERVER_ENV
from bench.report import fresh_event, row
from bench.scenarios.scale import DIRECT_IMPORT_ENV, workbook
from bench.servers import LOGS, ROOT, Cluster
from market import services
from market.models import Company, Participant

POLL = 0.5  # seconds between the client's looks at the job, as an organiser's page follows it
DEADLINE = 600  # seconds any one job or request may take here
QUEUE_LOOK = 1.0  # seconds between a worker's looks at an empty queue (db_worker's default --interval)


def memory_mib(pid: int) -> tuple[float, float]:
    """(now, peak) resident memory of a process in MiB: VmRSS and VmHWM of /proc/<pid>/status."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


@contextmanager
def worker_process():
    """One worker, started as production starts it (`manage.py db_worker`, looking at the queue
    every second); yields once it is looking; stopped with SIGTERM at the end."""
    LOGS.mkdir(parents=True, exist_ok=True)
    path = LOGS / f"worker-{time.time_ns()}.log"
    log = open(path, "wb")  # noqa: SIM115 closed with the process
    process = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", str(QUEUE_LOOK)],
        cwd=ROOT,
        env=SERVER_ENV,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    try:
        deadline = time.monotonic() + 30
        while b"Starting worker" not in path.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start; see {path}")
            time.sleep(0.1)
        time.sleep(1.5)  # its random start-up delay (under 1 s), then its first look at the queue
        yield process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Direct:
    seconds: float  # the request, sent to answered
    status: int
    body: dict
    server_peak: float  # MiB


@dataclass
class AsJob:
    answer: float  # the request, sent to answered (202)
    status: int
    job: dict  # as last shown by GET /api/admin/jobs/{id}
    seen: list[int] = field(default_factory=list)  # each progress the client saw, in order
    worker_idle: float = 0.0  # MiB, the worker waiting before the job
    worker_peak: float = 0.0  # MiB, its peak since it started
    server_peak: float = 0.0
    size: int = 0  # bytes of the job's file, when it made one

    @property
    def done(self) -> bool:
        return self.status == 202 and self.job.get("status") == "done"

    def seconds(self, start: str, end: str) -> float:
        return (parse_datetime(self.job[end]) - parse_datetime(self.job[start])).total_seconds()


def session(token: str) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        headers={"Authorization": f"Token {token}"}, timeout=aiohttp.ClientTimeout(total=DEADLINE)
    )


async def post_file(admin, base: str, sheet: bytes) -> tuple[float, int, dict]:
    form = aiohttp.FormData()
    form.add_field("file", sheet, filename="teams.xlsx", content_type="application/octet-stream")
    started = time.perf_counter()
    async with admin.post(f"{base}/api/admin/participants/import", data=form) as response:
        body = await response.json()
        return time.perf_counter() - started, response.status, body


async def follow(admin, base: str, job: dict) -> tuple[dict, list[int]]:
    """Look at the job as its page does until it ends: the job as last shown, each progress seen."""
    seen = []
    deadline = time.monotonic() + DEADLINE
    while True:
        async with admin.get(f"{base}{job['url']}") as response:
            job = await response.json()
        if not seen or seen[-1] != job["progress"]:
            seen.append(job["progress"])
        if job["status"] in ("done", "failed") or time.monotonic() > deadline:
            return job, seen
        await asyncio.sleep(POLL)


async def run_job(token: str, start) -> AsJob:
    """A job started by `start(admin, base)` → (answer seconds, status, body), followed to its end by
    the client while a worker runs it; the worker's and the server's memory after."""
    with Cluster("daphne", SERVER_ENV) as cluster, worker_process() as worker:
        base = cluster.base(0)
        idle = memory_mib(worker.pid)[0]
        async with session(token) as admin:
            answer, status, body = await start(admin, base)
            if status != 202:
                return AsJob(answer, status, body)
            job, seen = await follow(admin, base, body["job"])
            size = 0
            if job["download"]:
                async with admin.get(f"{base}{job['download']}") as response:
                    size = len(await response.read())
        server_peak = memory_mib(cluster.servers[0].process.pid)[1]
        return AsJob(answer, status, job, seen, idle, memory_mib(worker.pid)[1], server_peak, size)


def import_direct(token: str, sheet: bytes) -> Direct:
    async def go() -> Direct:
        with Cluster("daphne", DIRECT_IMPORT_ENV) as cluster:
            async with session(token) as admin:
                seconds, status, body = await post_file(admin, cluster.base(0), sheet)
            return Direct(seconds, status, body, memory_mib(cluster.servers[0].process.pid)[1])

    return asyncio.run(go())


def import_job(token: str, sheet: bytes) -> AsJob:
    return asyncio.run(run_job(token, lambda admin, base: post_file(admin, base, sheet)))


def results_direct(token: str) -> Direct:
    async def go() -> Direct:
        with Cluster("daphne", SERVER_ENV) as cluster:
            async with session(token) as admin:
                started = time.perf_counter()
                async with admin.get(f"{cluster.base(0)}/api/admin/results") as response:
                    size = len(await response.read())
                    seconds, status = time.perf_counter() - started, response.status
            return Direct(seconds, status, {"bytes": size}, memory_mib(cluster.servers[0].process.pid)[1])

    return asyncio.run(go())


def results_job(token: str) -> AsJob:
    async def start(admin, base: str) -> tuple[float, int, dict]:
        started = time.perf_counter()
        async with admin.post(f"{base}/api/admin/jobs", json={"kind": "results"}) as response:
            return time.perf_counter() - started, response.status, await response.json()

    return asyncio.run(run_job(token, start))


def compare(name: str, directs: list[Direct], jobs: list[AsJob], *, moves: bool) -> None:
    """The job's figures beside the direct ones (medians of the rounds; memory, the highest)."""
    direct = statistics.median(d.seconds for d in directs)
    each = " ".join(f"{d.seconds:.1f}" for d in directs)
    row("jobs", f"{name}: direct (each)", f"{direct:.1f} s", f"({each})", "200", all(d.status == 200 for d in directs))
    failed = [j for j in jobs if not j.done]
    for j in failed:
        print(f"    a job answered {j.status}, ended {j.job.get('status')}: {str(j.job)[:300]}")
    row("jobs", f"{name}: jobs done", f"{len(jobs) - len(failed)}/{len(jobs)}", "", "all", not failed)
    if failed:
        return
    answer = statistics.median(j.answer for j in jobs)
    wall = statistics.median(j.seconds("created_at", "finished_at") for j in jobs)
    queued = statistics.median(j.seconds("created_at", "started_at") for j in jobs)
    working = statistics.median(j.seconds("started_at", "finished_at") for j in jobs)
    limit = 1.3 * direct + QUEUE_LOOK
    row(
        "jobs",
        f"{name}: the server's answer (202)",
        f"{answer * 1000:.0f} ms",
        f"{direct:.1f} s direct",
        "≤ 1 s",
        answer <= 1,
    )
    each = " ".join(f"{j.seconds('created_at', 'finished_at'):.1f}" for j in jobs)
    row(
        "jobs", f"{name}: job created → done (each)", f"{wall:.1f} s", f"({each})", "≤ 1.3× direct + 1 s", wall <= limit
    )
    row(
        "jobs",
        f"{name}: … waiting in the queue",
        f"{queued:.1f} s",
        "",
        f"≤ {QUEUE_LOOK:g} s + 0.5",
        queued <= QUEUE_LOOK + 0.5,
    )
    row("jobs", f"{name}: … working", f"{working:.1f} s", f"{direct:.1f} s direct")
    seen = jobs[-1].seen
    ends = all(j.seen == sorted(j.seen) and j.seen[-1] == 100 for j in jobs)
    steps = f"{len(seen)} steps" if len(seen) > 6 else ", ".join(map(str, seen))
    target, met = ("moves, ends at 100", ends and len(seen) > 3) if moves else ("ends at 100", ends)
    row("jobs", f"{name}: progress the page saw", steps, "", target, met)
    idle, peak = max(j.worker_idle for j in jobs), max(j.worker_peak for j in jobs)
    direct_peak = max(d.server_peak for d in directs)
    row("jobs", f"{name}: worker memory, peak", f"{peak:.0f} MiB", f"{idle:.0f} MiB idle")
    row(
        "jobs",
        f"{name}: server memory, peak",
        f"{max(j.server_peak for j in jobs):.0f} MiB",
        f"{direct_peak:.0f} MiB direct",
    )


def scenario_jobs(quick: bool) -> None:
    count, per_team, rounds = (600, 10, 1) if quick else (3000, 30, 3)
    print(f"\nJobs: a {count:,}-team import and the results workbook of a {count:,}-team event, by a worker")
    print(f"  ({rounds} round(s), each the direct request then the job, in turn)")
    sheet = workbook(
        [{"email": f"new{i}@bench.example", "team": f"New team {i:05d}", "school": "Bench High"} for i in range(count)]
    )

    directs, jobs = [], []
    for _ in range(rounds):
        fresh_event(50)
        directs.append(import_direct(data.admin_token(), sheet))
        connections.close_all()
        fresh_event(50)
        token = data.admin_token()
        jobs.append(import_job(token, sheet))
        connections.close_all()
    compare("import", directs, jobs, moves=True)
    for d in directs:
        if d.status != 200 or d.body.get("created") != count:
            print(f"    the direct import answered {d.status}: {str(d.body)[:300]}")
    if not jobs[-1].done:
        return
    made = Participant.objects.count()
    result = jobs[-1].job["result"]
    exact = result["created"] == made == count and result["credentials"] == count
    row("jobs", "import: teams after the last job", f"{made:,}", "", f"{count:,}", exact)

    # The results workbook of an event of those teams: a day of trades, closed.
    stocks = list(Company.objects.order_by("ticker"))
    data.open_market()
    trades = data.history(list(Participant.objects.order_by("pk")), stocks, per_team)
    services.market_close(by=None)
    connections.close_all()
    print(f"  (an event of {count:,} teams, {len(stocks)} companies, {trades:,} trades, one day closed)")
    directs, jobs = [], []
    for _ in range(rounds):
        directs.append(results_direct(token))
        jobs.append(results_job(token))
    compare("results", directs, jobs, moves=False)
    if jobs[-1].done:
        size, direct_size = jobs[-1].size, directs[-1].body["bytes"]
        same = abs(size - direct_size) <= direct_size // 100
        row(
            "jobs",
            "results: workbook, job (direct)",
            f"{size / 1e6:.1f} MB",
            f"{direct_size / 1e6:.1f} MB",
            "the same",
            same,
        )

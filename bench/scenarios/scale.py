"""The size of the data: a big team import against hashing its passwords alone, and the reads of an
event with thousands of teams and a hundred thousand trades."""

import asyncio
import io
import os
import time
from concurrent.futures import ThreadPoolExecutor

import aiohttp
from django.contrib.auth.hashers import make_password
from django.db import connections
from openpyxl import Workbook

from bench import data
from bench.environment import SERVER_ENV
from bench.load import close_teams, open_teams, reads
from bench.report import fresh_event, row
from bench.servers import Cluster
from organisers.imports import generate_password

# The import answered at once whatever its size, as this scenario has always measured it: a file
# of more than IMPORT_JOB_ROWS rows would go to a worker instead (bench/scenarios/jobs.py measures that).
DIRECT_IMPORT_ENV = {**SERVER_ENV, "IMPORT_JOB_ROWS": "1000000"}


def workbook(rows: list[dict]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Teams")
    headers = list(rows[0])
    sheet.append(headers)
    for values in rows:
        sheet.append([values[name] for name in headers])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def scenario_import(quick: bool) -> None:
    new_rows, update_rows = (200, 2000) if quick else (1000, 10000)
    print(f"\nImport: {new_rows} new teams with generated passwords; {update_rows} rows updating teams")
    fresh_event(1)
    token = data.admin_token()
    new_sheet = workbook(
        [
            {"email": f"new{i}@bench.example", "team": f"New team {i:05d}", "school": "Bench High"}
            for i in range(new_rows)
        ]
    )

    # The baseline: the fastest way to hash this many passwords here, all cores busy.
    passwords = [generate_password() for _ in range(new_rows)]
    started = time.perf_counter()
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(make_password, passwords))
    hashing = time.perf_counter() - started

    async def upload(sheet: bytes, name: str) -> tuple[float, int, dict]:
        with Cluster("daphne", DIRECT_IMPORT_ENV) as cluster:
            async with aiohttp.ClientSession(
                headers={"Authorization": f"Token {token}"}, timeout=aiohttp.ClientTimeout(total=600)
            ) as admin:
                form = aiohttp.FormData()
                form.add_field("file", sheet, filename=name, content_type="application/octet-stream")
                started = time.perf_counter()
                async with admin.post(f"{cluster.base(0)}/api/admin/participants/import", data=form) as response:
                    body = await response.json()
                    return time.perf_counter() - started, response.status, body

    seconds, status, body = asyncio.run(upload(new_sheet, "teams.xlsx"))
    created = body.get("created") if status == 200 else body
    ratio = seconds / hashing
    row("import", f"{new_rows} new, passwords generated", f"{seconds:.1f} s", f"{hashing:.1f} s hashing")
    row("import", "import ÷ hashing alone", f"{ratio:.2f}×", "", "≤ 1.3×", ratio <= 1.3 and created == new_rows)
    if created != new_rows:
        print(f"    answered {status}: {str(body)[:300]}")

    connections.close_all()
    data.teams(update_rows, prefix="old")
    update_sheet = workbook(
        [
            {"email": f"old{i}@bench.example", "team": f"Renamed {i:05d}", "school": "Updated School"}
            for i in range(update_rows)
        ]
    )
    seconds, status, body = asyncio.run(upload(update_sheet, "update.xlsx"))
    updated = body.get("updated") if status == 200 else None
    limit = 10.0 * update_rows / 10000
    row(
        "import",
        f"{update_rows} rows updating teams",
        f"{seconds:.1f} s",
        "",
        f"≤ {limit:g} s",
        seconds <= limit and updated == update_rows,
    )
    if updated != update_rows:
        print(f"    answered {status}: {str(body)[:300]}")


# Reads at scale

READERS = 1  # one request at a time: what the size of the data costs, not queueing (docs/performance.md)
READ_PATHS = ("/api/leaderboard", "/api/leaderboard?page=40", "/api/portfolio", "/api/companies")


def scenario_reads(quick: bool) -> None:
    team_count, per_team = (500, 20) if quick else (2000, 50)
    print(f"\nReads at scale: {team_count} teams, 50 companies, {team_count * per_team:,} trades")
    stocks = fresh_event(50)
    made = data.teams(team_count)
    data.open_market()
    written = data.history([team for team, _ in made], stocks, per_team)
    tokens = [token for _, token in made]
    connections.close_all()

    async def go() -> dict:
        results = {}
        with Cluster("daphne", SERVER_ENV) as cluster:
            readers = await open_teams(cluster.base, tokens[:READERS])
            try:
                for path in READ_PATHS:
                    await reads(readers, tokens, path, 50)  # warm: connections, caches, plans
                    results[path] = await reads(readers, tokens, path, 500)
            finally:
                await close_teams(readers)
        return results

    results = asyncio.run(go())
    row("reads", "trades in the ledger", f"{written:,}")
    for path, (run, queries) in results.items():
        constant = len(queries) == 1
        ok = run.ms(99) <= 50 and constant and not run.errors
        row("reads", f"{path} p99 (p50)", f"{run.ms(99):.1f} ({run.ms(50):.1f}) ms", "", "≤ 50 ms", ok)
        row("reads", f"{path} queries/request", ",".join(sorted(queries)), "", "constant", constant)

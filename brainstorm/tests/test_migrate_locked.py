"""Replicas starting together run `migrate_locked` at once: one migrates, the others wait for it,
and every one of them starts with the schema complete."""

import fcntl
import subprocess
import sys
import time
import uuid

import psycopg
import pytest
from django.db import connection

from brainstorm.management.commands.migrate_locked import MIGRATION_LOCK
from brainstorm.tests.production import ROOT, production_env


def server_env(database_url: str) -> dict[str, str]:
    return production_env(DATABASE_URL=database_url, LOG_LEVEL="WARNING")


def start_migrating(database_url: str) -> subprocess.Popen:
    """What the container's entry point runs before it serves."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "migrate_locked"],
        cwd=ROOT,
        env=server_env(database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen) -> tuple[int, str]:
    output, _ = process.communicate(timeout=180)
    return process.returncode, output


def schema_complete(database_url: str) -> bool:
    """`migrate --check` exits 0 only when no migration is left to apply."""
    check = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--check"],
        cwd=ROOT,
        env=server_env(database_url),
        capture_output=True,
        timeout=120,
    )
    return check.returncode == 0


def wait_while_running(processes, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes):
            return False
        time.sleep(0.2)
    return True


@pytest.mark.postgres
def test_two_servers_starting_together_on_postgresql_migrate_one_after_the_other():
    settings = connection.settings_dict
    name = f"brainstorm_migrate_{uuid.uuid4().hex[:8]}"
    server = f"host={settings['HOST'] or '127.0.0.1'} port={settings['PORT'] or 5432} user={settings['USER']}"
    if settings.get("PASSWORD"):
        server += f" password={settings['PASSWORD']}"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    url = f"postgres://{settings['USER']}{password}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{name}"
    with psycopg.connect(f"{server} dbname=postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        # A third server is migrating: it holds the lock.
        with psycopg.connect(f"{server} dbname={name}", autocommit=True) as first:
            first.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
            replicas = [start_migrating(url), start_migrating(url)]
            assert wait_while_running(replicas, 4), [finish(p) for p in replicas]
            tables = first.execute("SELECT to_regclass('django_migrations') IS NULL").fetchone()[0]
            assert tables, "a replica migrated without the lock"
            first.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])
        results = [finish(replica) for replica in replicas]
        assert [code for code, _output in results] == [0, 0], results
        assert all("waiting" in output for _code, output in results)
        assert schema_complete(url)
    finally:
        with psycopg.connect(f"{server} dbname=postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.sqlite
def test_two_processes_on_one_sqlite_file_migrate_one_after_the_other(tmp_path):
    database = tmp_path / "event.sqlite3"
    url = f"sqlite:///{database}"
    with open(f"{database}.migrate-lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        replicas = [start_migrating(url), start_migrating(url)]
        assert wait_while_running(replicas, 4), [finish(p) for p in replicas]
        fcntl.flock(held, fcntl.LOCK_UN)
    results = [finish(replica) for replica in replicas]
    assert [code for code, _output in results] == [0, 0], results
    assert schema_complete(url)

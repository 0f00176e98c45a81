"""A real Daphne server over the test database, for tests that need separate processes or a browser."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-overlay-token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url() -> str:
    """The test database, for a server process: the test must commit what the server should see."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_until_healthy(port: int, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log = process.stderr.read().decode()[-3000:]
                raise RuntimeError(f"server on {port} did not start: {log}") from None
            time.sleep(0.2)


def server_env(**extra: str) -> dict[str, str]:
    """A server process's environment: the test database and channel layer, and `extra`."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "brainstorm.settings",
        "BRAINSTORM_IGNORE_DOTENV": "true",
        "DATABASE_URL": database_url(),
        "SECRET_KEY": "live-server-test-key-" + "x" * 32,
        # DEBUG serves static files from the app folders: no collectstatic in tests.
        "DEBUG": "true",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "OVERLAY_TOKEN": TOKEN,
        **extra,
    }
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    else:
        env.pop("REDIS_URL", None)
    return env


def start_server(port: int, **env: str) -> subprocess.Popen:
    process = subprocess.Popen(  # Daphne, started as production starts it (brainstorm/serve.py)
        [sys.executable, "-m", "brainstorm.serve", "-b", "127.0.0.1", "-p", str(port), "brainstorm.asgi:application"],
        cwd=ROOT,
        env=server_env(**env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_healthy(port, process)
    except BaseException:
        stop_server(process)
        raise
    return process


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
    process.stderr.close()


@contextmanager
def daphne_server(port: int | None = None, **env: str):
    port = port or free_port()
    process = start_server(port, **env)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        stop_server(process)


@contextmanager
def scheduler_process(*, metrics_port: int, interval: float = 0.2, **env: str):
    """`manage.py run_scheduler`, as the container runs it, answering /metrics on `metrics_port`.
    Stopped with SIGTERM at the end (`returncode` then says how it ended)."""
    command = ["manage.py", "run_scheduler", "--interval", str(interval), "--metrics-port", str(metrics_port)]
    process = subprocess.Popen(
        [sys.executable, *command], cwd=ROOT, env=server_env(**env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        yield process
    finally:
        stop_server(process)


# Fixtures for real-browser tests (headless Debian Chromium driven by Playwright), shared by the
# overlay and the team pages: the root conftest loads this module as a plugin.

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def _database_beside_playwright():
    # Playwright's sync API keeps an event loop marked running on this thread, which Django's
    # async-safety check takes for async code. The database calls in a browser test are plain
    # sync calls on the test's own thread, between browser steps: allowed for that module only.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE")
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def browser(_database_beside_playwright):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make test-tools`)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-background-networking"]
        )
        yield browser
        browser.close()


@pytest.fixture
def server():
    """A Daphne process on a free port; `handle["process"]` may be stopped and replaced."""
    port = free_port()
    handle = {"port": port, "process": start_server(port)}
    yield handle
    stop_server(handle["process"])


def api(server, key: str, method: str, path: str, body: dict | None = None) -> dict:
    """An API call to the server with a token, as a script would make it."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{server['port']}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Token {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read()) if response.status != 204 else {}

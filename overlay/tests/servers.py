"""A real Daphne server over the test database, for tests that need separate processes or a browser."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

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


def start_server(port: int) -> subprocess.Popen:
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
    }
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    else:
        env.pop("REDIS_URL", None)
    daphne = Path(sys.executable).with_name("daphne")
    process = subprocess.Popen(
        [str(daphne), "-b", "127.0.0.1", "-p", str(port), "brainstorm.asgi:application"],
        cwd=ROOT,
        env=env,
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
def daphne_server(port: int | None = None):
    port = port or free_port()
    process = start_server(port)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        stop_server(process)

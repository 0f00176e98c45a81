"""The servers under test, started as the product starts them in production: Daphne (or Uvicorn, for
the comparison) on loopback, PostgreSQL and Redis behind, one process per port."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOGS = ROOT / "bench" / "logs"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One server process; `kind` is daphne (on uvloop, as production runs it: brainstorm/serve.py),
    daphne-asyncio (Daphne on asyncio's own loop), uvicorn or ws-baseline (bench/ws_baseline.py)."""

    def __init__(self, kind: str, env: dict[str, str]):
        self.kind = kind
        self.port = free_port()
        self.env = {**os.environ, **env}
        self.process: subprocess.Popen | None = None
        self.profiled = bool(os.environ.get("BENCH_PROFILE")) and kind != "ws-baseline"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        port = str(self.port)
        daphne_args = ["-b", "127.0.0.1", "-p", port, "-v", "0", "brainstorm.asgi:application"]
        if self.kind == "daphne":
            return [sys.executable, "-m", "brainstorm.serve", *daphne_args]
        if self.kind == "daphne-asyncio":
            return [str(BIN / "daphne"), *daphne_args]
        if self.kind == "uvicorn":
            return [
                *(str(BIN / "uvicorn"), "brainstorm.asgi:application", "--host", "127.0.0.1", "--port", port),
                *("--lifespan", "off", "--no-access-log", "--log-level", "warning"),
                *("--loop", "uvloop", "--http", "httptools", "--ws", "websockets"),
            ]
        if self.kind == "ws-baseline":
            return [sys.executable, "-m", "bench.ws_baseline", "--port", port]
        raise ValueError(self.kind)

    def start(self) -> "Server":
        LOGS.mkdir(parents=True, exist_ok=True)
        log = open(LOGS / f"{self.kind}-{self.port}.log", "wb")  # noqa: SIM115 closed with the process
        command = self.command()
        if self.profiled:
            # Where the server's time goes: a py-spy profile per server process, in bench/logs.
            profile = LOGS / f"{self.kind}-{self.port}.profile.txt"
            command = [
                str(BIN / "py-spy"),
                "record",
                "--format",
                "raw",
                "--threads",
                # BENCH_PROFILE=gil: only the thread holding the GIL, i.e. where the processor goes.
                *(["--gil"] if os.environ["BENCH_PROFILE"] == "gil" else []),
                "-o",
                str(profile),
                "--",
                *command,
            ]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} exited at start; see {LOGS}")
            if self._answers():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.kind} did not answer within 30 s; see {LOGS}")

    def _answers(self) -> bool:
        if self.kind == "ws-baseline":
            import socket

            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", self.port)) == 0
        try:
            with urllib.request.urlopen(f"{self.base}/bench/ping", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # py-spy writes its profile when interrupted, and stops the server with it.
        self.process.send_signal(signal.SIGINT) if self.profiled else self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Cluster:
    """`count` processes of one kind; a client picks one per team, as a balancer would."""

    def __init__(self, kind: str, env: dict[str, str], count: int = 1):
        self.servers = [Server(kind, env) for _ in range(count)]

    def __enter__(self) -> "Cluster":
        try:
            for server in self.servers:
                server.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        for server in self.servers:
            server.stop()

    def base(self, index: int) -> str:
        return self.servers[index % len(self.servers)].base

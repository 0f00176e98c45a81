import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from common.metrics import scheduler_ticked, serve_metrics
from organisers.scheduler import run_due

logger = logging.getLogger("brainstorm.scheduler")


class Command(BaseCommand):
    help = "Fire scheduled news, day opens and closes, and price changes when due (runs until stopped)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run one tick and exit.")
        parser.add_argument(
            "--interval", type=float, default=settings.SCHEDULER_INTERVAL_SECONDS, help="Seconds between ticks."
        )
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=settings.SCHEDULER_METRICS_PORT,
            help="Answer /metrics (Prometheus) on this port; 0: not at all.",
        )

    def handle(self, *args, once: bool = False, interval: float = 1.0, metrics_port: int = 0, **options):
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        # The events this process sends are counted here and nowhere else: Prometheus scrapes it.
        metrics_server = serve_metrics(metrics_port) if metrics_port and not once else None  # None: not to be had
        try:
            self._run(stop, once=once, interval=interval)
        finally:
            if metrics_server is not None:
                metrics_server.shutdown()
                metrics_server.server_close()

    def _run(self, stop: threading.Event, *, once: bool, interval: float) -> None:
        self.stdout.write(f"Scheduler running (every {interval:g} s).")
        while not stop.is_set():
            try:
                for item in run_due():
                    self.stdout.write(f"fired: {item}")
                scheduler_ticked()  # /metrics shows how long ago: a stalled scheduler shows there
            except Exception:  # a bad tick (database restarting) must not end the scheduler
                logger.exception("scheduler tick failed; trying again next tick")
            finally:
                close_old_connections()
            if once:
                break
            stop.wait(interval)
        self.stdout.write("Scheduler stopped.")

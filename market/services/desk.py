"""The order desk: one worker thread per process for the work a change leaves once it commits
(the fills a price change or the start bell makes due, the notices of orders that expired), so
the answer to the change never waits for it. `ORDER_FILLS = "inline"` runs the work in the
caller's thread instead (the tests, a shell)."""

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connection

log = logging.getLogger(__name__)


class Desk:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: set[Callable] = set()
        self._executor: ThreadPoolExecutor | None = None

    def once(self, work: Callable[[], object]) -> None:
        """Run `work` soon, unless it is already waiting to run: the one waiting will see the
        newest state (a fill pass reads the prices when it starts)."""
        if settings.ORDER_FILLS == "inline":
            work()
            return
        with self._lock:
            if work in self._waiting:
                return
            self._waiting.add(work)
        self._submit(self._started, work)

    def call(self, work: Callable, *args) -> None:
        """Run `work(*args)` soon, after what was handed over before it."""
        if settings.ORDER_FILLS == "inline":
            work(*args)
            return
        self._submit(work, *args)

    def _started(self, work: Callable[[], object]) -> None:
        with self._lock:
            self._waiting.discard(work)
        work()

    def _submit(self, work: Callable, *args) -> None:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="order-desk")
            executor = self._executor
        executor.submit(self._run, work, *args)

    @staticmethod
    def _run(work: Callable, *args) -> None:
        close_old_connections()
        try:
            work(*args)
        except Exception:
            log.exception("the order desk's work failed; the scheduler's next pass fills what is due")
        finally:
            connection.close()


desk = Desk()

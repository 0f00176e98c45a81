"""The product's settings, plus what only the benchmark needs: a bare JSON endpoint (the baseline of
the same server) and a header counting the SQL queries each request made."""

from brainstorm.settings import *  # noqa: F403
from brainstorm.settings import MIDDLEWARE

ROOT_URLCONF = "bench.urls"
# First, so it counts every query of the request, the authentication's included.
MIDDLEWARE = ["bench.middleware.QueryCountMiddleware", *MIDDLEWARE]


def _log_long_collections() -> None:
    """Each garbage collection that pauses the server for more than 20 ms, in its log (bench/logs):
    with a thousand sockets open a full collection can stall every one of them at once."""
    import gc
    import logging
    import time

    logger = logging.getLogger("bench.gc")
    started = {}

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            started["at"] = time.perf_counter()
        elif "at" in started:
            pause = (time.perf_counter() - started.pop("at")) * 1000
            if pause > 20:
                generation, collected = info["generation"], info["collected"]
                logger.warning("gc generation %s paused %.0f ms (%s collected)", generation, pause, collected)

    gc.callbacks.append(callback)


_log_long_collections()

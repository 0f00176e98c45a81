"""Prometheus metrics at `/metrics`: what the person on call watches on event day.

Counters and gauges live in this server process (prometheus_client's default registry, with its
process and Python collectors); scrape every server process (each replica) as its own target. What
the database knows (scheduler lag) and the pool's state are read when scraped. The scheduler,
which serves no HTTP of its own, answers `/metrics` on SCHEDULER_METRICS_PORT (`serve_metrics`):
the live events it sends (every scheduled price, news item and bell) are counted there.

`/metrics` answers only a request with `Authorization: Bearer <METRICS_TOKEN>` or from an address
in METRICS_ALLOWED_CIDR; with neither set, nobody.
"""

import hmac
import logging
import threading
import time
from collections.abc import Callable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIRequest
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

REQUESTS = Counter(
    "brainstorm_http_requests",
    "HTTP requests answered, by route (URL name), method and status.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "brainstorm_http_request_duration_seconds",
    "Time to answer an HTTP request (to the first byte of a stream), by route and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
TRADES_EXECUTED = Counter("brainstorm_trades_executed", "Trades executed, by side (buy, sell).", ["side"])
TRADES_REFUSED = Counter("brainstorm_trades_refused", "Orders refused, by problem code.", ["code"])
LIVE_CONNECTIONS = Gauge(
    "brainstorm_live_connections", "Live connections open in this process, by kind (websocket, sse).", ["kind"]
)
EVENTS_BROADCAST = Counter("brainstorm_events_broadcast", "Live events handed to the channel layer, by type.", ["type"])
EVENTS_FOLDED = Counter(
    "brainstorm_events_folded",
    "Live events replaced by a newer one of their kind while waiting for a slow connection, by type.",
    ["type"],
)
LIVE_TOO_SLOW = Counter(
    "brainstorm_live_too_slow",
    "Live connections closed for falling too far behind their events (4408), by kind (websocket, sse).",
    ["kind"],
)
EVENTS_FAILED = Counter(
    "brainstorm_events_failed",
    "Live events the channel layer did not take (layer down, or this process' outbox full), by type.",
    ["type"],
)

METRICS_PATH = "/metrics"
SCHEDULER_TICK_KEY = "scheduler:last-tick"  # in the cache: shared with the scheduler process on Redis


def trade_refused(code: str) -> None:
    TRADES_REFUSED.labels(code).inc()


# Label values come from a fixed set: a client picks the method, and each new value is a new series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def request_done(*, route: str, method: str, status: int, seconds: float) -> None:
    method = method if method in METHODS else "other"
    REQUESTS.labels(route, method, str(status)).inc()
    REQUEST_SECONDS.labels(route, method).observe(seconds)


def scheduler_ticked() -> None:
    """The scheduler finished a tick: /metrics reports how long ago (stalled scheduler = growing)."""
    try:
        cache.set(SCHEDULER_TICK_KEY, time.time(), None)
    except Exception:  # a cache that is down must not stop the scheduler
        logger.warning("could not record the scheduler's tick", exc_info=True)


# What is due but not fired (a function of now: the oldest due time, or None), given at start-up by
# the app that holds the scheduler: this package imports no domain app.
_due_since: Callable | None = None


def report_scheduler_lag(due_since: Callable) -> None:
    """From now on, /metrics reports the scheduler's lag as `due_since` tells it."""
    global _due_since
    _due_since = due_since


_jobs_now: Callable | None = None


def report_jobs(jobs_now: Callable) -> None:
    """From now on, /metrics reports background jobs as `jobs_now()` tells them: `{"by_status":
    {status: count}, "oldest_queued_seconds": s, "last_seconds": {kind: s}}`."""
    global _jobs_now
    _jobs_now = jobs_now


def scheduler_lag(now=None) -> float:
    """Seconds the oldest due-but-not-fired item (price change, news, bell) has waited; 0 if none."""
    if _due_since is None:
        return 0.0
    now = now or timezone.now()
    oldest = _due_since(now)
    return max((now - oldest).total_seconds(), 0.0) if oldest else 0.0


# The gauges ScrapeTimeCollector reports (the pool's only on PostgreSQL, the tick once the scheduler ran).
SCRAPE_TIME_METRICS = (
    "brainstorm_scheduler_lag_seconds",
    "brainstorm_scheduler_last_tick_age_seconds",
    "brainstorm_db_pool_connections",
    "brainstorm_db_pool_max_connections",
    "brainstorm_db_pool_requests_waiting",
    "brainstorm_jobs",
    "brainstorm_job_oldest_queued_seconds",
    "brainstorm_job_last_duration_seconds",
)


class ScrapeTimeCollector(Collector):
    """Values read when /metrics is scraped: scheduler lag and heartbeat, the database pool."""

    def describe(self):
        # Without it the registry would call collect() when registering, at import: a database
        # query before the server (or the test run) has chosen its database.
        return []

    def collect(self):
        # The pool first: the lag is read from the database, with a connection of the pool.
        yield from self._pool()
        yield from self._scheduler()
        yield from self._jobs()

    def _jobs(self):
        if _jobs_now is None:
            return
        try:
            jobs = _jobs_now()
        except Exception:  # the database is down: /api/health says so
            logger.warning("jobs unavailable", exc_info=True)
            return
        family = GaugeMetricFamily(
            "brainstorm_jobs",
            "Background jobs by status (queued and running now; done and failed over the last day).",
            labels=["status"],
        )
        for status, count in sorted(jobs["by_status"].items()):
            family.add_metric([status], count)
        yield family
        yield GaugeMetricFamily(
            "brainstorm_job_oldest_queued_seconds",
            "How long the oldest queued job has waited for a worker (grows when no worker runs).",
            value=jobs["oldest_queued_seconds"],
        )
        durations = GaugeMetricFamily(
            "brainstorm_job_last_duration_seconds",
            "How long the last finished job of each kind took, created to finished.",
            labels=["kind"],
        )
        for kind, seconds in sorted(jobs["last_seconds"].items()):
            durations.add_metric([kind], seconds)
        yield durations

    def _scheduler(self):
        try:
            lag = scheduler_lag()
        except Exception:  # the database is down: /api/health says so; the other metrics still answer
            logger.warning("scheduler lag unavailable", exc_info=True)
        else:
            yield GaugeMetricFamily(
                "brainstorm_scheduler_lag_seconds",
                "How long the oldest scheduled item that is due (price change, news, bell) has waited to fire.",
                value=lag,
            )
        try:
            last_tick = cache.get(SCHEDULER_TICK_KEY)
        except Exception:  # a cache that is down: no heartbeat to report
            logger.warning("scheduler heartbeat unavailable", exc_info=True)
            last_tick = None
        if last_tick is not None:
            yield GaugeMetricFamily(
                "brainstorm_scheduler_last_tick_age_seconds",
                "Seconds since the scheduler last finished a tick (grows when no scheduler runs).",
                value=max(time.time() - last_tick, 0.0),
            )

    def _pool(self):
        pool = connections["default"].pool if connections["default"].vendor == "postgresql" else None
        if pool is not None:
            stats = pool.get_stats()
            size, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
            family = GaugeMetricFamily(
                "brainstorm_db_pool_connections",
                "Database pool connections in this process, by state.",
                labels=["state"],
            )
            family.add_metric(["in_use"], size - idle)
            family.add_metric(["idle"], idle)
            yield family
            yield GaugeMetricFamily(
                "brainstorm_db_pool_max_connections", "The most connections the pool may open.", value=pool.max_size
            )
            yield GaugeMetricFamily(
                "brainstorm_db_pool_requests_waiting",
                "Requests waiting for a pool connection right now.",
                value=stats.get("requests_waiting", 0),
            )


REGISTRY.register(ScrapeTimeCollector())


def _token_ok(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    # As bytes: compare_digest refuses str with characters outside ASCII (a 500 for anyone).
    return (
        bool(expected)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(sent.strip().encode("utf-8", "replace"), expected.encode())
    )


def metrics_allowed(request: HttpRequest) -> bool:
    from common.network import within  # see _problem_response

    return _token_ok(request) or within(request.META.get("REMOTE_ADDR", ""), settings.METRICS_ALLOWED_CIDR)


class MetricsMiddleware:
    """Answers /metrics before the host check, the HTTPS redirect and the venue's allow-list:
    Prometheus scrapes each server process by its address, over the internal network. Nothing in
    the answer depends on the host name; the token or METRICS_ALLOWED_CIDR guards it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path != METRICS_PATH:
            return self.get_response(request)
        request.route_name = "metrics"
        return metrics_view(request)


def _problem_response(request: HttpRequest, **problem) -> HttpResponse:
    # Imported when first needed: logging is configured (common.logs imports this module) before
    # Django's apps are ready, and problem details come with DRF, which needs them.
    from common.problems import problem_response

    return problem_response(request, **problem)


def metrics_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return _problem_response(request, status=405, code="method_not_allowed", detail="Use GET.")
    if not metrics_allowed(request):
        return _problem_response(
            request,
            status=403,
            code="permission_denied",
            detail="Metrics need the metrics token or an allowed address.",
        )
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


class _MetricsServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape under way does not keep the process from stopping


class _QuietHandler(WSGIRequestHandler):
    timeout = 5  # seconds to send a request in: a silent client does not keep its thread for ever

    def log_message(self, format, *args):
        pass  # a line per scrape, every few seconds, would drown the process' own log


def _metrics_app(environ, start_response):
    """`metrics_view` as a WSGI application: the same rule and answers as on the web servers."""
    try:
        request = WSGIRequest(environ)
        if request.path == METRICS_PATH:
            response = metrics_view(request)
        else:
            response = _problem_response(request, status=404, code="not_found", detail=f"Only {METRICS_PATH} here.")
    finally:
        connections.close_all()  # this thread's database connection (the lag is read from the database)
    start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
    return [response.content]


def serve_metrics(port: int, address: str = "0.0.0.0") -> WSGIServer | None:
    """Answer /metrics on `port` from a thread of this process, for a process that serves no HTTP
    of its own (the scheduler). `shutdown()` on the returned server stops it. None, and an error
    logged, when the port cannot be had: the process goes on without its metrics, for the
    scheduler's bells and prices matter more than their figures."""
    try:
        server = make_server(address, port, _metrics_app, server_class=_MetricsServer, handler_class=_QuietHandler)
    except (OSError, OverflowError):  # taken, not ours to bind, or not a port number
        logger.error("no /metrics on port %s: it cannot be opened", port, exc_info=True)
        return None
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server

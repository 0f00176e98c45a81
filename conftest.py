import io
import json
import logging

import pytest
from channels.layers import channel_layers
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Role, User
from common.logs import JsonLogFormatter, RequestContextFilter
from market.models import Participant
from market.services import participant_create

TEAM_PASSWORD = "correct-horse-battery"

# Real-server and real-browser fixtures (`server`, `browser`), for the tests that need them.
pytest_plugins = ["overlay.tests.servers"]


def pytest_collection_modifyitems(config, items):
    """Tests for one database are deselected (not skipped) on the other; CI runs both."""
    other = "sqlite" if connection.vendor == "postgresql" else "postgres"
    selected, deselected = [], []
    for item in items:
        (deselected if item.get_closest_marker(other) else selected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.fixture(scope="session", autouse=True)
def _redis_cache_pools_closed():
    # With REDIS_URL the cache is Redis: its connection pools (opened in whatever thread a socket's
    # presence update ran) are closed at the end, not left for the garbage collector to warn about.
    yield
    from common.cache import _clients  # one client per process, whichever context opened it

    for client in _clients.values():
        for pool in client._pools.values():
            pool.disconnect()


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    # Each test its own channel layer: a test's event loop ends with the hub's reader in the middle
    # of a read, and channels-redis keeps that read's locks, bound to the dead loop, on the layer.
    channel_layers.backends.clear()
    yield


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counters live in the cache: each test starts with none.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _order_fills_inline(settings):
    """Waiting orders fill in the thread whose change made them due, once it commits: the test's
    own (market.services.desk); a live server's desk works in the background."""
    settings.ORDER_FILLS = "inline"


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def make_team(db):
    counter = iter(range(1, 10_000))

    def make(display_name: str | None = None, **fields) -> Participant:
        n = next(counter)
        user = User.objects.create_user(email=f"team{n}@school.test", password=TEAM_PASSWORD, role=Role.PARTICIPANT)
        return participant_create(user=user, display_name=display_name or f"Team {n}", **fields)

    return make


@pytest.fixture
def team(make_team) -> Participant:
    return make_team("Bull Riders", school="SMA 1")


@pytest.fixture
def other_team(make_team) -> Participant:
    return make_team("Bear Necessities", school="SMA 2")


@pytest.fixture
def admin_user(db) -> User:
    return User.objects.create_superuser(email="organiser@event.test", password="organiser-password-1")


@pytest.fixture
def team_api(team) -> APIClient:
    client = APIClient()
    client.force_authenticate(team.user)
    return client


@pytest.fixture
def admin_api(admin_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


@pytest.fixture
def make_company(db):
    from decimal import Decimal

    from market.services import company_create

    def make(ticker: str = "ACME", price: str = "10.00", **fields):
        return company_create(
            by=None, ticker=ticker, name=fields.pop("name", ticker.title()), current_price=Decimal(price), **fields
        )

    return make


@pytest.fixture
def company(make_company):
    return make_company("ACME", "10.00")


@pytest.fixture
def open_market(db):
    from market.services import market_open

    return market_open(by=None)


@pytest.fixture
def event_settings(db):
    from market.models import EventSettings

    return EventSettings.load()


@pytest.fixture
def log_lines():
    """The JSON lines the production handler would write, for the loggers a test reads."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLogFormatter())
    handler.addFilter(RequestContextFilter())
    loggers = [logging.getLogger(name) for name in ("brainstorm", "django.request", "axes")]
    for logger in loggers:
        logger.addHandler(handler)
    previous = logging.getLogger("brainstorm").level
    logging.getLogger("brainstorm").setLevel(logging.INFO)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield lines
    logging.getLogger("brainstorm").setLevel(previous)
    for logger in loggers:
        logger.removeHandler(handler)

"""The trade allowance on Redis: one atomic check, exact under concurrency (market.throttles)."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import caches
from django.test import RequestFactory

from common.cache import RedisCache
from market import throttles
from market.throttles import TradeThrottle

REDIS = {"default": {"BACKEND": "common.cache.RedisCache", "LOCATION": "redis://127.0.0.1:6379/14"}}


@pytest.fixture
def on_redis(settings):
    settings.CACHES = REDIS
    assert isinstance(caches["default"], RedisCache)
    caches["default"].clear()
    yield
    caches["default"].clear()


@pytest.fixture
def rate(monkeypatch):
    def set_rate(value: str) -> None:
        monkeypatch.setattr(TradeThrottle, "THROTTLE_RATES", {"trades": value})

    return set_rate


def request_of(user):
    request = RequestFactory().post("/api/transactions")
    request.user = user
    return request


def test_a_teams_allowance_is_exact_when_its_orders_arrive_at_once(on_redis, rate, team, other_team):
    rate("5/min")

    def order(_) -> bool:
        return TradeThrottle().allow_request(request_of(team.user), None)

    with ThreadPoolExecutor(16) as pool:
        allowed = list(pool.map(order, range(40)))
    assert allowed.count(True) == 5
    assert TradeThrottle().allow_request(request_of(other_team.user), None)  # its own allowance


def test_a_refused_order_is_told_how_long_to_wait_and_the_window_slides(on_redis, rate, team):
    rate("2/s")
    throttle = TradeThrottle()
    assert [TradeThrottle().allow_request(request_of(team.user), None) for _ in range(2)] == [True, True]
    assert throttle.allow_request(request_of(team.user), None) is False
    assert 0 < throttle.wait() <= 1
    time.sleep(throttle.wait() + 0.05)
    assert TradeThrottle().allow_request(request_of(team.user), None)


def test_the_api_answers_429_with_retry_after_on_redis(on_redis, rate, team_api, company, open_market):
    rate("2/min")
    order = {"ticker": "ACME", "type": "buy", "quantity": 1}
    statuses = [team_api.post("/api/transactions", order, format="json") for _ in range(3)]
    assert [response.status_code for response in statuses] == [201, 201, 429]
    assert statuses[-1].json()["code"] == "throttled"
    assert 0 < int(statuses[-1]["Retry-After"]) <= 60


def test_orders_go_on_when_redis_is_down(settings, rate, team, monkeypatch):
    settings.CACHES = {"default": {**REDIS["default"], "LOCATION": "redis://127.0.0.1:1/0"}}
    errors = []
    monkeypatch.setattr(throttles.logger, "error", lambda *args, **kwargs: errors.append(args[0]))
    rate("1/min")
    assert [TradeThrottle().allow_request(request_of(team.user), None) for _ in range(3)] == [True] * 3
    assert errors == ["trade allowance unavailable; order let through"] * 3


def test_an_allowance_of_none_refuses_every_order(on_redis, rate, team):
    rate("0/min")
    throttle = TradeThrottle()
    assert throttle.allow_request(request_of(team.user), None) is False
    assert throttle.wait() == 60


def test_a_list_left_by_drfs_throttle_under_the_teams_key_does_not_get_in_the_way(on_redis, rate, team):
    # During an upgrade a server of the release before keeps DRF's list under the team's key.
    rate("2/min")
    key = TradeThrottle().get_cache_key(request_of(team.user), None)
    caches["default"].set(key, [1.0, 2.0], 60)
    assert [TradeThrottle().allow_request(request_of(team.user), None) for _ in range(3)] == [True, True, False]
    assert caches["default"].get(key) == [1.0, 2.0]


def test_orders_go_on_when_redis_stops_answering(settings, rate, team, monkeypatch):
    # A Redis that takes the connection but never answers: each order waits the cache's socket
    # timeout (CACHE_SOCKET_TIMEOUT in production), then goes through.
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        settings.CACHES = {
            "default": {
                "BACKEND": "common.cache.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{silent.getsockname()[1]}/0",
                "OPTIONS": {"socket_connect_timeout": 0.3, "socket_timeout": 0.3},
            }
        }
        errors = []
        monkeypatch.setattr(throttles.logger, "error", lambda *args, **kwargs: errors.append(args[0]))
        rate("1/min")
        started = time.monotonic()
        assert TradeThrottle().allow_request(request_of(team.user), None)
        assert time.monotonic() - started < 3
        assert errors == ["trade allowance unavailable; order let through"]
    finally:
        silent.close()

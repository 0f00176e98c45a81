"""The trade allowance on Redis: one atomic check, exact under concurrency (market.throttles)."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import caches
from django.test import RequestFactory

from brainstorm.cache import RedisCache
from market import throttles
from market.throttles import TradeThrottle

REDIS = {"default": {"BACKEND": "brainstorm.cache.RedisCache", "LOCATION": "redis://127.0.0.1:6379/14"}}


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

"""Events go out only after commit, with the envelope of SPEC §5; leaderboard events coalesce."""

from decimal import Decimal

import pytest
from django.db import transaction

from market import services
from overlay.events import Coalescer, envelope

pytestmark = pytest.mark.django_db


def test_a_committed_price_change_queues_its_events(company, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        services.price_set(company=company, price=Decimal("11.00"), by=None)
    assert len(callbacks) == 2  # the price event, then the leaderboard request


def test_a_rolled_back_change_announces_nothing(company, team, open_market, django_capture_on_commit_callbacks):
    class Abort(Exception):
        pass

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(Abort), transaction.atomic():
        services.price_set(company=company, price=Decimal("11.00"), by=None)
        services.trade_execute(participant=team, company=company, side="buy", quantity=1)
        raise Abort
    assert callbacks == []


def test_a_refused_trade_announces_nothing(company, team, open_market, django_capture_on_commit_callbacks):
    from market.errors import InsufficientShares

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(InsufficientShares):
        services.trade_execute(participant=team, company=company, side="sell", quantity=1)
    assert callbacks == []


def test_envelope_is_json_safe_and_dated():
    event = envelope("price", {"price": Decimal("1.50")})
    assert event["type"] == "price"
    assert event["data"] == {"price": "1.50"}
    assert event["at"].endswith("Z") or "+" in event["at"]


def test_unknown_event_types_are_a_programming_error():
    with pytest.raises(ValueError, match="unknown event type"):
        envelope("gossip", {})


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_coalescer_emits_at_once_then_folds_a_burst_into_one_trailing_emission():
    import threading

    clock = FakeClock()
    emitted = threading.Event()
    calls = []

    def emit():
        calls.append(clock.now)
        emitted.set()

    coalescer = Coalescer(emit, interval=0.2, clock=clock)
    coalescer.request()  # quiet until now: at once
    assert calls == [100.0]
    emitted.clear()
    for _ in range(50):  # a burst within the interval
        coalescer.request()
    assert calls == [100.0]
    assert emitted.wait(2), "the trailing emission never came"
    assert len(calls) == 2
    coalescer.cancel()


def test_coalescer_never_emits_twice_within_the_interval():
    clock = FakeClock()
    calls = []
    coalescer = Coalescer(lambda: calls.append(clock.now), interval=10, clock=clock)
    coalescer.request()
    clock.now += 5
    coalescer.request()
    coalescer.request()
    assert calls == [100.0]  # the second waits on a timer, due at 110
    coalescer.cancel()
    clock.now += 6
    coalescer.request()  # after cancel: quiet again
    assert calls == [100.0, 111.0]

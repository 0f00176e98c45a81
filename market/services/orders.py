"""An order placed by a team, by the API and by the trade page alike: at the current price
(`order_place`, `POST /api/transactions`) or waiting for its price (`book_order_place`,
`POST /api/orders`, market/services/book.py). Validated as the API validates it, placed at most
once per key (market/idempotency.py), every refusal counted by its code; the views only
translate."""

import re
from collections.abc import Callable
from dataclasses import dataclass

from rest_framework import serializers, status

from common import metrics
from common.problems import DomainError, InvalidInput
from market.errors import IdempotencyKeyReused
from market.idempotency import MAX_KEY_LENGTH, fingerprint, idempotent_call
from market.models import Participant
from market.serializers import TradeRequestSerializer
from market.services.book import book_place
from market.services.trading import trade_execute

IDEMPOTENCY_KEY = re.compile(rf"^[\x21-\x7e]{{1,{MAX_KEY_LENGTH}}}$")


@dataclass(frozen=True)
class Placed:
    """The answer to an order: its status and body (`{transaction, portfolio}`, or a refusal's
    problem), and whether it is the first answer to its key given again."""

    status: int
    body: dict
    replayed: bool = False


def order_place(*, participant: Participant, data, key: str | None = None) -> Placed:
    """Place the order in `data` (`{ticker, type, quantity, expected_price?}`). Without a key a
    refusal raises; with one, a refusal is an answer too, stored and given again to every copy
    (invalid input raises and is not stored, so the corrected order may reuse its key)."""
    return _once(participant, data, key, _trade)


def book_order_place(*, participant: Participant, data, key: str | None = None) -> Placed:
    """Place the waiting order in `data` (`{ticker, type, quantity, kind, price, expires?}`):
    answered `{order, portfolio}`, once per key like a trade."""
    return _once(participant, data, key, _book)


def _once(participant: Participant, data, key: str | None, run: Callable[..., dict]) -> Placed:
    if key is None:
        return Placed(status.HTTP_201_CREATED, run(participant, data))
    if not IDEMPOTENCY_KEY.match(key):
        metrics.trade_refused("validation_error")
        message = f"Use 1 to {MAX_KEY_LENGTH} visible ASCII characters."
        raise InvalidInput(message, errors={"Idempotency-Key": [message]})

    def call() -> tuple[int, dict]:
        try:
            return status.HTTP_201_CREATED, run(participant, data, key)
        except DomainError as refusal:
            return refusal.status, refusal.as_problem()

    try:
        code, body, replayed = idempotent_call(
            participant=participant, key=key, fingerprint=fingerprint(data), call=call
        )
    except IdempotencyKeyReused as refusal:
        metrics.trade_refused(refusal.code)
        raise
    return Placed(code, body, replayed)


def _trade(participant: Participant, data, key: str | None = None) -> dict:
    """Validate and execute; the answer is TradeResponseSerializer's shape, from the portfolio the
    trade already serialised for its event. Refusals raise, counted by code."""
    request = TradeRequestSerializer(data=data)
    try:
        request.is_valid(raise_exception=True)
        order = request.validated_data
        result = trade_execute(
            participant=participant,
            company=order["ticker"],
            side=order["type"],
            quantity=order["quantity"],
            expected_price=order.get("expected_price"),
            idempotency_key=key,
        )
    except serializers.ValidationError:
        metrics.trade_refused("validation_error")
        raise
    except DomainError as refusal:
        metrics.trade_refused(refusal.code)
        raise
    return {"transaction": result.transaction_data, "portfolio": result.portfolio_data}


def _book(participant: Participant, data, key: str | None = None) -> dict:
    try:
        result = book_place(participant=participant, data=data, key=key)
    except serializers.ValidationError:
        metrics.trade_refused("validation_error")
        raise
    except DomainError as refusal:
        metrics.trade_refused(refusal.code)
        raise
    return {"order": result.order_data, "portfolio": result.portfolio_data}

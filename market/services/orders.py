"""An order at the current price, placed by a team: by the API (`POST /api/transactions`) and by
the trade page alike. Validated as the API validates it, placed at most once per key
(market/idempotency.py), every refusal counted by its code; the views only translate."""

import re
from dataclasses import dataclass

from rest_framework import serializers, status

from common import metrics
from common.problems import DomainError, InvalidInput
from market.errors import IdempotencyKeyReused
from market.idempotency import MAX_KEY_LENGTH, fingerprint, idempotent_call
from market.models import Participant
from market.serializers import TradeRequestSerializer
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
    if key is None:
        return Placed(status.HTTP_201_CREATED, _trade(participant, data))
    if not IDEMPOTENCY_KEY.match(key):
        metrics.trade_refused("validation_error")
        message = f"Use 1 to {MAX_KEY_LENGTH} visible ASCII characters."
        raise InvalidInput(message, errors={"Idempotency-Key": [message]})

    def call() -> tuple[int, dict]:
        try:
            return status.HTTP_201_CREATED, _trade(participant, data, key)
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

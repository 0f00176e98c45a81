"""A team's trades (SPEC §4): its history, and an order placed at the current price."""

import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.permissions import IsParticipant
from common import metrics
from common.problems import PROBLEM_CONTENT_TYPE, DomainError
from market import services
from market.errors import IdempotencyKeyReused
from market.idempotency import MAX_KEY_LENGTH, fingerprint, idempotent_call
from market.models import Participant, Transaction
from market.serializers import TradeRequestSerializer, TradeResponseSerializer, TransactionSerializer
from market.throttles import TradeThrottle

IDEMPOTENCY_KEY = re.compile(rf"^[\x21-\x7e]{{1,{MAX_KEY_LENGTH}}}$")


class TransactionsView(GenericAPIView):
    permission_classes = [IsParticipant]
    serializer_class = TransactionSerializer

    def get_throttles(self):
        return [TradeThrottle()] if self.request.method == "POST" else []

    def get_queryset(self):
        return (
            Transaction.objects.filter(participant=self.request.user.participant)
            .select_related("company")
            .order_by("-created_at", "-id")
        )

    @extend_schema(responses=TransactionSerializer(many=True), tags=["trading"])
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(TransactionSerializer(page, many=True).data)

    @extend_schema(
        request=TradeRequestSerializer,
        responses={201: TradeResponseSerializer},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Up to 255 visible ASCII characters. A repeat gets the first answer.",
            )
        ],
        tags=["trading"],
    )
    def post(self, request):
        participant = request.user.participant
        data = request.data
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return Response(trade(participant=participant, data=data), status=status.HTTP_201_CREATED)
        if not IDEMPOTENCY_KEY.match(key):
            metrics.trade_refused("validation_error")
            raise serializers.ValidationError(
                {"Idempotency-Key": [f"Use 1 to {MAX_KEY_LENGTH} visible ASCII characters."]}
            )

        code, body, replayed = trade_once(participant=participant, data=data, key=key)
        response = Response(body, status=code, content_type=PROBLEM_CONTENT_TYPE if code >= 400 else None)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response


def trade(*, participant: Participant, data, key: str | None = None) -> dict:
    """Validate an order, execute it, and answer `{transaction, portfolio}`; refusals raise
    (and are counted by code: the page's orders come here too)."""
    request = TradeRequestSerializer(data=data)
    try:
        request.is_valid(raise_exception=True)
        order = request.validated_data
        executed = services.trade_execute(
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
    # TradeResponseSerializer's shape, from the portfolio the trade already serialised for its event.
    return {"transaction": executed.transaction_data, "portfolio": executed.portfolio_data}


def trade_once(*, participant: Participant, data, key: str) -> tuple[int, dict, bool]:
    """`trade` at most once per key: (status, body, replayed). A refusal is an answer too (a
    problem body), stored and replayed; invalid input raises and is not stored."""

    def call() -> tuple[int, dict]:
        try:
            return status.HTTP_201_CREATED, trade(participant=participant, data=data, key=key)
        except DomainError as refusal:
            return refusal.status, refusal.as_problem()

    try:
        return idempotent_call(participant=participant, key=key, fingerprint=fingerprint(data), call=call)
    except IdempotencyKeyReused as refusal:
        metrics.trade_refused(refusal.code)
        raise

import re

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsParticipant
from common import metrics
from common.problems import PROBLEM_CONTENT_TYPE, DomainError
from common.read_cache import page_key, read_cached
from common.serializers import represent
from market import events, selectors, services
from market.errors import IdempotencyKeyReused, LeaderboardHidden
from market.idempotency import MAX_KEY_LENGTH, fingerprint, idempotent_call
from market.models import Company, EventSettings, Participant, Transaction
from market.serializers import (
    CompanyDetailSerializer,
    CompanySerializer,
    LeaderboardEntrySerializer,
    MarketSerializer,
    PortfolioSerializer,
    TradeRequestSerializer,
    TradeResponseSerializer,
    TransactionSerializer,
)
from market.throttles import TradeThrottle

TICKER_IN_URL = r"[A-Za-z0-9.]{1,10}"
IDEMPOTENCY_KEY = re.compile(rf"^[\x21-\x7e]{{1,{MAX_KEY_LENGTH}}}$")


# Reads for everyone signed in


class CompanyViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsAuthenticated]
    queryset = Company.objects.order_by("ticker")
    lookup_field = "ticker"
    lookup_value_regex = TICKER_IN_URL

    def get_serializer_class(self):
        return CompanyDetailSerializer if self.action == "retrieve" else CompanySerializer

    def get_object(self):
        return get_object_or_404(Company, ticker=self.kwargs["ticker"].upper())

    def list(self, request, *args, **kwargs):
        key = page_key(request)
        if key is None:
            return super().list(request, *args, **kwargs)
        return Response(read_cached("companies", key, lambda: super(CompanyViewSet, self).list(request).data))

    def retrieve(self, request, *args, **kwargs):
        ticker = self.kwargs["ticker"].upper()
        return Response(
            read_cached("companies", f"detail:{ticker}", lambda: super(CompanyViewSet, self).retrieve(request).data)
        )


class MarketView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=MarketSerializer, tags=["market"])
    def get(self, request):
        return Response(read_cached("market", "state", events.market))


class LeaderboardView(GenericAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = LeaderboardEntrySerializer

    def get_queryset(self):
        return selectors.leaderboard()

    @extend_schema(responses=LeaderboardEntrySerializer(many=True), tags=["market"])
    def get(self, request):
        if not request.user.is_staff and not EventSettings.load().leaderboard_visible:
            raise LeaderboardHidden("The organisers have hidden the leaderboard for now.")
        key = page_key(request)
        if key is None:
            return self._page()
        return Response(read_cached("leaderboard", key, lambda: self._page().data))

    def _page(self) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        entries = [selectors.leaderboard_entry(team) for team in page]
        return self.get_paginated_response(LeaderboardEntrySerializer(entries, many=True).data)


# A team's own


class PortfolioView(APIView):
    permission_classes = [IsParticipant]

    @extend_schema(responses=PortfolioSerializer, tags=["trading"])
    def get(self, request):
        return Response(represent(PortfolioSerializer, selectors.portfolio(request.user.participant)))


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

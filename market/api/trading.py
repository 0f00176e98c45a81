"""A team's trades (SPEC §4): its history, and an order placed at the current price."""

from django.db.models import F
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.permissions import IsParticipant
from common.problems import PROBLEM_CONTENT_TYPE
from market import services
from market.models import Transaction
from market.serializers import TradeRequestSerializer, TradeResponseSerializer, TransactionSerializer
from market.throttles import TradeThrottle


class TransactionsView(GenericAPIView):
    permission_classes = [IsParticipant]
    serializer_class = TransactionSerializer

    def get_throttles(self):
        return [TradeThrottle()] if self.request.method == "POST" else []

    def get_queryset(self):
        return (
            Transaction.objects.filter(participant=self.request.user.participant)
            .select_related("company")
            .annotate(from_order=F("order__id"))
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
        key = request.headers.get("Idempotency-Key")
        placed = services.order_place(participant=request.user.participant, data=request.data, key=key)
        problem = PROBLEM_CONTENT_TYPE if placed.status >= 400 else None
        response = Response(placed.body, status=placed.status, content_type=problem)
        if placed.replayed:
            response["Idempotent-Replayed"] = "true"
        return response

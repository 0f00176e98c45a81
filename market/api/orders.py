"""A team's orders that wait (SPEC §4b): place, list, cancel."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.permissions import IsParticipant
from common.problems import PROBLEM_CONTENT_TYPE
from common.serializers import StrictSerializer
from market import services
from market.models import Order, OrderStatus
from market.serializers import OrderRequestSerializer, OrderResponseSerializer, OrderSerializer
from market.throttles import TradeThrottle


class OrderFilterSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices, required=False)
    page = serializers.IntegerField(min_value=1, required=False)


class OrdersView(GenericAPIView):
    permission_classes = [IsParticipant]
    serializer_class = OrderSerializer

    def get_throttles(self):
        return [TradeThrottle()] if self.request.method == "POST" else []

    def get_queryset(self):
        return Order.objects.filter(participant=self.request.user.participant).select_related("company")

    @extend_schema(parameters=[OrderFilterSerializer], responses=OrderSerializer(many=True), tags=["orders"])
    def get(self, request):
        """The team's orders, newest first; `?status=open` for those still waiting."""
        filters = OrderFilterSerializer(data={key: value for key, value in request.query_params.items() if value})
        filters.is_valid(raise_exception=True)
        orders = self.get_queryset().order_by("-created_at", "-id")
        if "status" in filters.validated_data:
            orders = orders.filter(status=filters.validated_data["status"])
        page = self.paginate_queryset(orders)
        return self.get_paginated_response(OrderSerializer(page, many=True).data)

    @extend_schema(
        request=OrderRequestSerializer,
        responses={201: OrderResponseSerializer},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Up to 255 visible ASCII characters. A repeat gets the first answer.",
            )
        ],
        tags=["orders"],
    )
    def post(self, request):
        """Place a limit or stop order: filled at once if its price is already reached while the
        market is open, else open, holding its cash (a buy) or shares (a sell)."""
        key = request.headers.get("Idempotency-Key")
        placed = services.book_order_place(participant=request.user.participant, data=request.data, key=key)
        problem = PROBLEM_CONTENT_TYPE if placed.status >= 400 else None
        response = Response(placed.body, status=placed.status, content_type=problem)
        if placed.replayed:
            response["Idempotent-Replayed"] = "true"
        return response


class OrderView(GenericAPIView):
    permission_classes = [IsParticipant]
    serializer_class = OrderSerializer
    lookup_url_kwarg = "order_id"

    def get_queryset(self):
        return Order.objects.filter(participant=self.request.user.participant).select_related("company")

    @extend_schema(responses=OrderSerializer, tags=["orders"])
    def get(self, request, order_id):
        return Response(OrderSerializer(self.get_object()).data)

    @extend_schema(request=None, responses={200: OrderResponseSerializer}, tags=["orders"])
    def delete(self, request, order_id):
        """Cancel an open order and free what it holds; 409 `order_not_open` once it has ended."""
        result = services.book_cancel(order=self.get_object(), participant=request.user.participant)
        return Response({"order": result.order_data, "portfolio": result.portfolio_data})

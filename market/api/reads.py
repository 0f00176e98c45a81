"""The market as teams and organisers read it (SPEC §4): companies, the market's state, the
leaderboard, a team's portfolio."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsParticipant
from common.read_cache import page_key, read_cached
from common.serializers import represent
from market import events, selectors
from market.errors import LeaderboardHidden
from market.models import Company, EventSettings
from market.serializers import (
    CompanyDetailSerializer,
    CompanySerializer,
    LeaderboardEntrySerializer,
    MarketSerializer,
    PortfolioSerializer,
)

TICKER_IN_URL = r"[A-Za-z0-9.]{1,10}"


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

import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role, User
from accounts.permissions import IsAdmin, IsParticipant
from common import metrics
from common.problems import PROBLEM_CONTENT_TYPE, DomainError
from common.read_cache import page_key, read_cached, reads_changed
from common.serializers import StrictSerializer, represent
from market import selectors, services
from market.errors import CompanyHasTrades, IdempotencyKeyReused, LeaderboardHidden
from market.idempotency import MAX_KEY_LENGTH, fingerprint, idempotent_call
from market.models import TICKER_PATTERN, Company, EventSettings, Participant, TradeType, Transaction
from market.resources import CellError, parse_bool
from market.serializers import (
    AdminCompanySerializer,
    AdminParticipantCreateSerializer,
    AdminParticipantSerializer,
    AdminParticipantUpdateSerializer,
    AdminTransactionSerializer,
    CashAdjustmentSerializer,
    CompanyDetailSerializer,
    CompanySerializer,
    LeaderboardEntrySerializer,
    MarketSerializer,
    PortfolioSerializer,
    TradeRequestSerializer,
    TradeResponseSerializer,
    TradeReversalSerializer,
    TransactionSerializer,
)
from market.spreadsheets import XLSX_CONTENT_TYPE, SpreadsheetRefused
from market.throttles import TradeThrottle
from overlay import payloads

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
        return Response(read_cached("market", "state", payloads.market))


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


# Organisers


class AdminCompanyViewSet(viewsets.ModelViewSet):
    permission_classes = [IsAdmin]
    serializer_class = AdminCompanySerializer
    queryset = Company.objects.order_by("ticker")

    def perform_create(self, serializer):
        serializer.instance = services.company_create(by=self.request.user, **serializer.validated_data)

    @transaction.atomic
    def perform_update(self, serializer):
        changes = dict(serializer.validated_data)
        new_price = changes.pop("current_price", None)
        company = services.company_update(company=serializer.instance, by=self.request.user, **changes)
        if new_price is not None:
            company = services.price_set(company=company, price=new_price, by=self.request.user)
        serializer.instance = company

    def perform_destroy(self, instance):
        try:
            with transaction.atomic():
                services.audit(by=self.request.user, action="company_delete", target=f"company:{instance.ticker}")
                instance.delete()
                reads_changed("companies")
        except ProtectedError as exc:
            raise CompanyHasTrades(
                f"{instance.ticker} has been traded or held; deactivate it instead (is_active false)."
            ) from exc


class AdminParticipantViewSet(viewsets.ModelViewSet):
    permission_classes = [IsAdmin]
    serializer_class = AdminParticipantSerializer
    queryset = Participant.objects.select_related("user").order_by("display_name")
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(request=AdminParticipantCreateSerializer, responses={201: AdminParticipantSerializer})
    def create(self, request, *args, **kwargs):
        form = AdminParticipantCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            with transaction.atomic():
                user = User.objects.create_user(email=data["email"], password=data["password"], role=Role.PARTICIPANT)
                team = services.participant_create(
                    user=user,
                    display_name=data["display_name"],
                    school=data["school"],
                    starting_cash=data["starting_cash"],
                    by=request.user,
                )
        except IntegrityError as exc:  # a concurrent request took the e-mail or the name first
            field = "display_name" if "display_name" in str(exc) else "email"
            raise serializers.ValidationError({field: ["Already taken."]}) from exc
        return Response(AdminParticipantSerializer(team).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AdminParticipantUpdateSerializer, responses=AdminParticipantSerializer)
    def partial_update(self, request, *args, **kwargs):
        try:
            return self._partial_update(request)
        except IntegrityError as exc:  # a concurrent rename took the name first
            raise serializers.ValidationError({"display_name": ["This team name is taken."]}) from exc

    def _partial_update(self, request):
        team = self.get_object()
        form = AdminParticipantUpdateSerializer(team, data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        changes = dict(form.validated_data)
        frozen = changes.pop("is_frozen", None)
        with transaction.atomic():
            if changes:
                services.participant_rename(
                    participant=team,
                    display_name=changes.get("display_name", team.display_name),
                    school=changes.get("school", team.school),
                    by=request.user,
                )
            if frozen is not None:
                services.participant_freeze(participant=team, frozen=frozen, by=request.user)
        team.refresh_from_db()
        return Response(AdminParticipantSerializer(team).data)

    def perform_destroy(self, instance):
        with transaction.atomic():
            services.audit(
                by=self.request.user,
                action="participant_delete",
                target=f"participant:{instance.pk}",
                display_name=instance.display_name,
            )
            instance.user.delete()  # the team goes with its account
            reads_changed("leaderboard")

    @extend_schema(request=CashAdjustmentSerializer, responses=AdminParticipantSerializer)
    @action(detail=True, methods=["post"], url_path="adjust-cash")
    def adjust_cash(self, request, pk=None):
        team = self.get_object()
        form = CashAdjustmentSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.cash_adjust(participant=team, by=request.user, **form.validated_data)
        team.refresh_from_db()
        return Response(AdminParticipantSerializer(team).data)


class TransactionFilterSerializer(StrictSerializer):
    participant = serializers.UUIDField(required=False)
    ticker = serializers.RegexField(TICKER_PATTERN, required=False)
    day = serializers.IntegerField(min_value=0, required=False)
    type = serializers.ChoiceField(choices=TradeType.choices, required=False)
    page = serializers.IntegerField(min_value=1, required=False)


@extend_schema_view(list=extend_schema(parameters=[TransactionFilterSerializer]))
class AdminTransactionViewSet(viewsets.ReadOnlyModelViewSet):
    """Every trade, newest first, filtered by team, ticker, day or type."""

    permission_classes = [IsAdmin]
    serializer_class = AdminTransactionSerializer

    def get_queryset(self):
        trades = Transaction.objects.select_related("company", "participant").order_by("-created_at", "-id")
        if self.action != "list":
            return trades
        params = {key: value for key, value in self.request.query_params.items() if value != ""}
        if "ticker" in params:
            params["ticker"] = params["ticker"].upper()
        filters = TransactionFilterSerializer(data=params)
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        lookups = {"participant_id": "participant", "company__ticker": "ticker", "day": "day", "type": "type"}
        return trades.filter(**{lookup: wanted[name] for lookup, name in lookups.items() if name in wanted})

    @extend_schema(request=TradeReversalSerializer, responses=AdminTransactionSerializer, tags=["admin"])
    @action(detail=True, methods=["post"], url_path="reverse")
    def reverse_trade(self, request, pk=None):
        """Undo the trade exactly (cash, shares, value), logged with the reason; 409 `reversal_refused`."""
        trade = self.get_object()
        form = TradeReversalSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        reversed_trade = services.trade_reverse(trade=trade, by=request.user, reason=form.validated_data["reason"])
        return Response(AdminTransactionSerializer(reversed_trade).data)


class AdminMarketOpenView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses=MarketSerializer, tags=["admin"])
    def post(self, request):
        services.market_open(by=request.user)
        return Response(MarketSerializer(selectors.market_state()).data)


class AdminMarketCloseView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses=MarketSerializer, tags=["admin"])
    def post(self, request):
        services.market_close(by=request.user)
        return Response(MarketSerializer(selectors.market_state()).data)


class AdminResultsView(APIView):
    """The results workbook (XLSX): final leaderboard, values by day, every trade, closing prices by day."""

    permission_classes = [IsAdmin]

    def perform_content_negotiation(self, request, force=False):
        # The workbook whatever the client says it accepts; refusals stay problem+json.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        responses={(200, XLSX_CONTENT_TYPE): OpenApiTypes.BINARY},
        tags=["admin"],
    )
    def get(self, request):
        from market.results import results_response

        return results_response()


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=".xlsx or .csv; the header row names the columns.")
    dry_run = serializers.CharField(required=False, default="false", help_text="true: check and report, write nothing.")

    def validate_dry_run(self, value: str) -> bool:
        try:
            return parse_bool(value.strip() or "false")
        except CellError as exc:
            raise serializers.ValidationError("Use true or false.") from exc


class AdminParticipantImportView(APIView):
    """Teams from a spreadsheet (SPEC §6): every row checked first; one bad row imports nothing."""

    permission_classes = [IsAdmin]
    parser_classes = [MultiPartParser]

    @extend_schema(request=ImportRequestSerializer, responses={200: OpenApiTypes.OBJECT}, tags=["admin"])
    def post(self, request):
        from market.imports import credentials_keep, participants_import

        form = ImportRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise SpreadsheetRefused(f"The file is larger than {settings.IMPORT_MAX_BYTES / 1_000_000:g} MB.")
        report = participants_import(
            content=upload.read(), filename=upload.name, dry_run=form.validated_data["dry_run"], by=request.user
        )
        body = report.as_dict()
        token = credentials_keep(report, event_name=EventSettings.load().name, owner=request.user)
        if token is not None:
            body["credentials"] = {
                "url": reverse("admin-participants-credentials", args=[token]),
                "count": len(report.credentials),
                "note": "The sheet of logins downloads once, within 30 minutes.",
            }
        return Response(body)


class AdminParticipantCredentialsView(APIView):
    """The logins an import set, as a printable XLSX, downloadable once."""

    permission_classes = [IsAdmin]

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(responses={(200, XLSX_CONTENT_TYPE): OpenApiTypes.BINARY}, tags=["admin"])
    def get(self, request, token: str):
        from market.imports import credentials_take

        download = credentials_take(token)
        if download is None:
            raise NotFound("This sheet was already downloaded or has expired.")
        return download

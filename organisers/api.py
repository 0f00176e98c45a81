"""The organisers' API (`/api/admin/...`, SPEC §4): companies, teams, trades, the bell, imports and
the results workbook. Each view validates, calls one service, answers."""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, ProtectedError
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from common.read_cache import reads_changed
from common.serializers import StrictSerializer
from market import selectors, services
from market.errors import AlreadyRegistered, CompanyHasTrades
from market.models import (
    TICKER_PATTERN,
    Company,
    EventSettings,
    Order,
    OrderStatus,
    Participant,
    TradeType,
    Transaction,
)
from market.serializers import (
    AdminCompanySerializer,
    AdminOrderSerializer,
    AdminParticipantCreateSerializer,
    AdminParticipantSerializer,
    AdminParticipantUpdateSerializer,
    AdminTransactionSerializer,
    CashAdjustmentSerializer,
    MarketSerializer,
    OrderCancelSerializer,
    TradeReversalSerializer,
)
from newsroom.models import News
from newsroom.serializers import AdminNewsSerializer
from organisers.cells import CellError, parse_bool
from organisers.imports import credentials_keep, credentials_take, participants_import
from organisers.jobs.api import accepted
from organisers.jobs.services import job_start
from organisers.models import JobKind
from organisers.results import results_response
from organisers.runsheet.news import news_remove, news_write, scheduled_at
from organisers.spreadsheets import XLSX_CONTENT_TYPE, SpreadsheetRefused, read_sheet

TICKER_IN_URL = r"[A-Za-z0-9.]{1,10}"


class AdminCompanyViewSet(viewsets.ModelViewSet):
    permission_classes = [IsAdmin]
    serializer_class = AdminCompanySerializer
    queryset = Company.objects.order_by("ticker")

    def perform_create(self, serializer):
        serializer.instance = services.company_create(by=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.company_edit(
            company=serializer.instance, by=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        try:
            with transaction.atomic():
                services.audit(by=self.request.user, action="company_delete", target=f"company:{instance.ticker}")
                instance.delete()
                reads_changed("companies")
        except ProtectedError as exc:
            raise CompanyHasTrades(
                f"{instance.ticker} has been traded, held or ordered; deactivate it instead (is_active false)."
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
            team = services.team_register(**data, by=request.user)
        except AlreadyRegistered as exc:  # a concurrent request took the e-mail or the name first
            raise serializers.ValidationError({exc.field: ["Already taken."]}) from exc
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
        trades = (
            Transaction.objects.select_related("company", "participant")
            .annotate(from_order=F("order__id"))
            .order_by("-created_at", "-id")
        )
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


class OrderFilterSerializer(StrictSerializer):
    participant = serializers.UUIDField(required=False)
    ticker = serializers.RegexField(TICKER_PATTERN, required=False)
    status = serializers.ChoiceField(choices=OrderStatus.choices, required=False)
    page = serializers.IntegerField(min_value=1, required=False)


@extend_schema_view(list=extend_schema(parameters=[OrderFilterSerializer]))
class AdminOrderViewSet(viewsets.ReadOnlyModelViewSet):
    """Every team's orders that wait, newest first, filtered by team, ticker or status."""

    permission_classes = [IsAdmin]
    serializer_class = AdminOrderSerializer

    def get_queryset(self):
        orders = Order.objects.select_related("company", "participant").order_by("-created_at", "-id")
        if self.action != "list":
            return orders
        params = {key: value for key, value in self.request.query_params.items() if value != ""}
        if "ticker" in params:
            params["ticker"] = params["ticker"].upper()
        filters = OrderFilterSerializer(data=params)
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        lookups = {"participant_id": "participant", "company__ticker": "ticker", "status": "status"}
        return orders.filter(**{lookup: wanted[name] for lookup, name in lookups.items() if name in wanted})

    @extend_schema(request=OrderCancelSerializer, responses=AdminOrderSerializer, tags=["admin"])
    @action(detail=True, methods=["post"], url_path="cancel")
    def cancel(self, request, pk=None):
        """Cancel an open order with a reason (audited; the team hears it); 409 `order_not_open`."""
        form = OrderCancelSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        result = services.book_cancel(order=self.get_object(), by=request.user, reason=form.validated_data["reason"])
        return Response(
            AdminOrderSerializer(Order.objects.select_related("company", "participant").get(pk=result.order.pk)).data
        )


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

    @extend_schema(
        request=ImportRequestSerializer, responses={200: OpenApiTypes.OBJECT, 202: OpenApiTypes.OBJECT}, tags=["admin"]
    )
    def post(self, request):
        form = ImportRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise SpreadsheetRefused(f"The file is larger than {settings.IMPORT_MAX_BYTES / 1_000_000:g} MB.")
        content, dry_run = upload.read(), form.validated_data["dry_run"]
        if not dry_run and len(read_sheet(content, upload.name).rows) > settings.IMPORT_JOB_ROWS:
            # Passwords take a while each (Argon2): a big file goes to a worker, 202 with its job.
            return accepted(job_start(kind=JobKind.TEAM_IMPORT, by=request.user, content=content, filename=upload.name))
        report = participants_import(content=content, filename=upload.name, dry_run=dry_run, by=request.user)
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
        download = credentials_take(token)
        if download is None:
            raise NotFound("This sheet was already downloaded or has expired.")
        return download


class ScheduledNewsSerializer(AdminNewsSerializer):
    """A news item with a time still to come is a draft waiting for its run-sheet cue: it answers
    with that time as `published_at` and the status `scheduled`, as it was written."""

    def to_representation(self, instance):
        data = super().to_representation(instance)
        at = scheduled_at(instance)
        if at is not None:
            data["published_at"] = self.fields["published_at"].to_representation(at)
            data["status"] = "scheduled"
        return data


class AdminNewsViewSet(viewsets.ModelViewSet):
    permission_classes = [IsAdmin]
    serializer_class = ScheduledNewsSerializer
    queryset = News.objects.order_by("-created_at")

    def perform_create(self, serializer):
        serializer.instance = news_write(news=None, by=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = news_write(news=serializer.instance, by=self.request.user, **serializer.validated_data)

    def perform_destroy(self, instance):
        news_remove(news=instance, by=self.request.user)

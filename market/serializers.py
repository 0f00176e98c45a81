from decimal import Decimal

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from rest_framework import serializers

from accounts.models import User
from common import sql
from common.serializers import StrictIntegerField, StrictSerializer
from market.models import (
    MAX_PRICE,
    MAX_QUANTITY,
    TICKER_PATTERN,
    Company,
    Order,
    OrderExpiry,
    OrderKind,
    Participant,
    TradeType,
    Transaction,
)
from market.selectors import company_history


def _money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=20, decimal_places=2, read_only=True, **kwargs)


class ParticipantSerializer(serializers.ModelSerializer):
    class Meta:
        model = Participant
        fields = [
            "id",
            "display_name",
            "school",
            "cash",
            "starting_cash",
            "portfolio_value",
            "is_frozen",
            "created_at",
        ]
        read_only_fields = fields


class AdminParticipantSerializer(ParticipantSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta(ParticipantSerializer.Meta):
        fields = [*ParticipantSerializer.Meta.fields, "email", "trade_count", "last_trade_at"]
        read_only_fields = fields


class NewTeamSerializer(serializers.Serializer):
    """An account and its team: what sign-up asks, and what an organiser fills in for a team."""

    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)
    display_name = serializers.CharField(max_length=80)
    school = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")

    def validate_email(self, value: str) -> str:
        if User.objects.filter(email__iexact=value).exists():
            raise serializers.ValidationError("An account with this e-mail already exists.")
        return value

    def validate_display_name(self, value: str) -> str:
        if Participant.objects.filter(display_name__iexact=value).exists():
            raise serializers.ValidationError("This team name is taken.")
        return value

    def validate(self, attrs: dict) -> dict:
        try:
            password_validation.validate_password(attrs["password"], user=User(email=attrs["email"]))
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": exc.messages}) from exc
        return attrs


class AdminParticipantCreateSerializer(StrictSerializer, NewTeamSerializer):
    starting_cash = serializers.DecimalField(
        max_digits=16, decimal_places=2, min_value=Decimal("0"), required=False, allow_null=True, default=None
    )


class AdminParticipantUpdateSerializer(StrictSerializer):
    display_name = serializers.CharField(max_length=80, required=False)
    school = serializers.CharField(max_length=120, required=False, allow_blank=True)
    is_frozen = serializers.BooleanField(required=False)

    def validate_display_name(self, value: str) -> str:
        taken = Participant.objects.filter(display_name__iexact=value).exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError("This team name is taken.")
        return value


class CashAdjustmentSerializer(StrictSerializer):
    amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    reason = serializers.CharField(max_length=500)


class CompanySerializer(serializers.ModelSerializer):
    price = serializers.DecimalField(source="current_price", max_digits=14, decimal_places=2, read_only=True)
    change = serializers.SerializerMethodField()
    change_pct = serializers.SerializerMethodField()

    class Meta:
        model = Company
        fields = ["id", "ticker", "name", "description", "price", "previous_price", "change", "change_pct", "is_active"]
        read_only_fields = fields

    def get_change(self, company: Company) -> str:
        return str(company.change)

    def get_change_pct(self, company: Company) -> str:
        return str(company.change_pct)


class PricePointSerializer(serializers.Serializer):
    price = serializers.DecimalField(max_digits=14, decimal_places=2)
    at = serializers.DateTimeField()
    day = serializers.IntegerField(allow_null=True)


class CompanyDetailSerializer(CompanySerializer):
    history = serializers.SerializerMethodField()

    class Meta(CompanySerializer.Meta):
        fields = [*CompanySerializer.Meta.fields, "financials", "history"]
        read_only_fields = fields

    def get_history(self, company: Company) -> list[dict]:
        return PricePointSerializer(company_history(company), many=True).data


class AdminCompanySerializer(CompanyDetailSerializer):
    """Organisers read the full company and write it; `current_price` goes through price_set."""

    ticker = serializers.RegexField(TICKER_PATTERN, max_length=10)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, required=False, default="")
    financials = serializers.JSONField(required=False, default=dict, encoder=DjangoJSONEncoder)
    current_price = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0.01"), write_only=True
    )
    previous_price = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0.01"), required=False
    )
    is_active = serializers.BooleanField(required=False, default=True)

    class Meta(CompanyDetailSerializer.Meta):
        fields = [*CompanyDetailSerializer.Meta.fields, "current_price", "created_at"]
        read_only_fields = ["id", "price", "change", "change_pct", "history", "created_at"]

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - {name for name, field in self.fields.items() if not field.read_only})
            if unknown:
                raise serializers.ValidationError({name: ["Unknown or read-only field."] for name in unknown})
        return super().to_internal_value(data)

    def validate_ticker(self, value: str) -> str:
        taken = Company.objects.filter(ticker=value)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError("A company with this ticker exists.")
        return value

    def validate_financials(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Financials must be an object (for example, figures by year).")
        return value


class TransactionSerializer(serializers.ModelSerializer):
    ticker = serializers.CharField(source="company.ticker", read_only=True)
    total = serializers.DecimalField(max_digits=24, decimal_places=2, read_only=True)
    order = serializers.SerializerMethodField(help_text="The waiting order this trade filled, if any.")

    class Meta:
        model = Transaction
        fields = [
            "id",
            "ticker",
            "type",
            "quantity",
            "price",
            "total",
            "fee",
            "day",
            "created_at",
            "reversed_at",
            "order",
        ]
        read_only_fields = fields

    def get_order(self, trade: Transaction) -> str | None:
        """Set by the reads (`with_order`) and by an order's fill; no query of its own."""
        order = getattr(trade, "from_order", None)
        return str(order) if order else None


class AdminTransactionSerializer(TransactionSerializer):
    participant = serializers.UUIDField(source="participant_id", read_only=True)
    team = serializers.CharField(source="participant.display_name", read_only=True)
    reversed_by = serializers.UUIDField(source="reversed_by_id", read_only=True, allow_null=True)

    class Meta(TransactionSerializer.Meta):
        fields = [*TransactionSerializer.Meta.fields, "participant", "team", "reversed_by", "reversal_reason"]
        read_only_fields = fields


class TradeReversalSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500)


class TradeRequestSerializer(StrictSerializer):
    ticker = serializers.CharField(max_length=10)
    type = serializers.ChoiceField(choices=TradeType.choices)
    quantity = StrictIntegerField(
        min_value=1,
        max_value=MAX_QUANTITY,
        error_messages={
            "min_value": "Buy or sell at least 1 share.",
            "max_value": f"At most {MAX_QUANTITY:,} shares in one order.",
        },
    )
    expected_price = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0.01"), required=False, allow_null=True
    )

    def validate_ticker(self, value: str) -> Company:
        # Every order asks this: SQL of its own, a quarter of the ORM's time (docs/performance.md).
        # The company comes with its id, ticker and name; its other fields load when first read.
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, name, ticker FROM companies WHERE ticker = %s", [value.strip().upper()])
            row = cursor.fetchone()
        if row is None:
            raise serializers.ValidationError("No company has this ticker.")
        # from_db takes the values in the model's field order: id, name, ticker.
        return Company.from_db(connection.alias, ["id", "name", "ticker"], [sql.as_uuid(row[0]), row[1], row[2]])


class HoldingSerializer(serializers.Serializer):
    ticker = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    reserved_quantity = serializers.IntegerField(help_text="Shares held by open sell orders.")
    average_cost = _money()
    price = _money()
    value = _money()
    cost = serializers.DecimalField(
        max_digits=28,
        decimal_places=4,
        read_only=True,
        help_text="Quantity × average cost, unrounded: unrealised P/L is value − cost, half-up to cents. "
        "A screen revalues the holding with it when the price changes.",
    )
    unrealized_pl = _money()


class PortfolioSerializer(serializers.Serializer):
    cash = _money()
    reserved_cash = _money(help_text="Cash held by open buy orders.")
    available_cash = _money(help_text="Cash less what open orders hold: what a new order may spend.")
    starting_cash = _money()
    holdings = HoldingSerializer(many=True)
    holdings_value = _money()
    total_value = _money()
    return_pct = _money()
    rank = serializers.IntegerField()
    as_of = serializers.DateTimeField(
        read_only=True, help_text="When the team's cash or holdings last changed: a newer portfolio wins."
    )


class TradeResponseSerializer(serializers.Serializer):
    transaction = TransactionSerializer()
    portfolio = PortfolioSerializer()


class LeaderboardEntrySerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    display_name = serializers.CharField()
    school = serializers.CharField()
    total_value = _money()
    return_pct = _money()
    trades = serializers.IntegerField()


class MarketSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["open", "closed"])
    day = serializers.IntegerField()
    opened_at = serializers.DateTimeField(allow_null=True)
    closes_at = serializers.DateTimeField(allow_null=True)


# A team's account (market/api/teams.py)


class UserSerializer(serializers.ModelSerializer):
    participant = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "role", "created_at", "participant"]
        read_only_fields = fields

    def get_participant(self, user: User) -> dict | None:
        participant = getattr(user, "participant", None) if user.role == "participant" else None
        return ParticipantSerializer(participant).data if participant else None


class SignupSerializer(NewTeamSerializer):
    """Sign-up: fields outside the form (`role`, say) are ignored; sign-up always makes a team."""


class SigninResponseSerializer(serializers.Serializer):
    user = UserSerializer()
    token = serializers.CharField()


class SignupResponseSerializer(serializers.Serializer):
    user = UserSerializer()
    participant = ParticipantSerializer()
    token = serializers.CharField()


class OrderRequestSerializer(TradeRequestSerializer):
    """SPEC §4b: an order that waits for its price. `expected_price` has no meaning here."""

    kind = serializers.ChoiceField(choices=OrderKind.choices)
    price = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=MAX_PRICE,
        error_messages={"max_decimal_places": "Use at most 2 decimal places (cents)."},
    )
    expires = serializers.ChoiceField(choices=OrderExpiry.choices, default=OrderExpiry.DAY)
    expected_price = None


class OrderSerializer(serializers.ModelSerializer):
    ticker = serializers.CharField(source="company.ticker", read_only=True)
    transaction = serializers.UUIDField(source="transaction_id", read_only=True, allow_null=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "ticker",
            "type",
            "kind",
            "quantity",
            "price",
            "status",
            "expires",
            "reserved",
            "created_at",
            "filled_at",
            "closed_at",
            "transaction",
            "reason",
        ]
        read_only_fields = fields


class AdminOrderSerializer(OrderSerializer):
    participant = serializers.UUIDField(source="participant_id", read_only=True)
    team = serializers.CharField(source="participant.display_name", read_only=True)
    cancelled_by = serializers.UUIDField(source="cancelled_by_id", read_only=True, allow_null=True)

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "participant", "team", "cancelled_by"]
        read_only_fields = fields


class OrderCancelSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500)


class OrderResponseSerializer(serializers.Serializer):
    order = OrderSerializer()
    portfolio = PortfolioSerializer()

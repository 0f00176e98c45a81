import uuid
from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from market.money import percent

TICKER_PATTERN = r"^[A-Z0-9.]{1,10}$"
MAX_QUANTITY = 1_000_000_000
MAX_PRICE = Decimal("999999999999.99")  # NUMERIC(14,2)
MAX_CASH = Decimal("99999999999999.99")  # NUMERIC(16,2)


def _positive_price(**kwargs) -> models.DecimalField:
    return models.DecimalField(
        max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))], **kwargs
    )


class EventSettings(models.Model):
    """The event's rules, one row, edited by the organisers in the admin."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    name = models.TextField(default="Brainstorm")
    starting_cash = models.DecimalField(
        max_digits=16,
        decimal_places=2,
        default=Decimal("100000.00"),
        validators=[MinValueValidator(Decimal("0.00"))],
        help_text="Cash each new team starts with.",
    )
    lot_size = models.PositiveIntegerField(
        default=1, validators=[MinValueValidator(1)], help_text="Quantities must be a multiple of this."
    )
    buy_fee_rate = models.DecimalField(
        max_digits=7,
        decimal_places=6,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="Fraction of the trade total charged on a buy (0.001 = 0.1%).",
    )
    sell_fee_rate = models.DecimalField(
        max_digits=7,
        decimal_places=6,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="Fraction of the trade total deducted from a sale.",
    )
    leaderboard_visible = models.BooleanField(default=True, help_text="Teams can see the leaderboard.")
    signup_open = models.BooleanField(
        default=True, help_text="Teams may sign themselves up (the SIGNUP_OPEN variable can also close it)."
    )
    # Set only by `overlay_token_rotate` (the control room), never in a form: once set it replaces
    # the OVERLAY_TOKEN variable for good, so a restart cannot bring a rotated-out token back.
    overlay_token = models.TextField(
        blank=True, default="", editable=False, help_text="Empty: the OVERLAY_TOKEN variable is the token."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "event_settings"
        verbose_name = "event settings"
        verbose_name_plural = "event settings"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="event_settings_single_row"),
            models.CheckConstraint(condition=Q(starting_cash__gte=0), name="event_settings_starting_cash_gte_0"),
            models.CheckConstraint(condition=Q(lot_size__gte=1), name="event_settings_lot_size_gte_1"),
            models.CheckConstraint(
                condition=Q(buy_fee_rate__gte=0, buy_fee_rate__lte=1, sell_fee_rate__gte=0, sell_fee_rate__lte=1),
                name="event_settings_fee_rates_0_1",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def load(cls) -> "EventSettings":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


class Company(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.TextField()
    ticker = models.TextField(
        unique=True,
        validators=[RegexValidator(TICKER_PATTERN, "Use 1 to 10 upper-case letters, digits or dots.")],
    )
    description = models.TextField(blank=True, default="")
    financials = models.JSONField(
        encoder=DjangoJSONEncoder,
        blank=True,
        default=dict,
        help_text="Free-form figures by year: revenue, profit, growth, market share…",
    )
    current_price = _positive_price()
    previous_price = _positive_price(help_text="The last close; change is measured against it.")
    is_active = models.BooleanField(default=True, help_text="Inactive companies cannot be traded.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "companies"
        verbose_name_plural = "companies"
        ordering = ["ticker"]
        constraints = [
            models.CheckConstraint(condition=Q(ticker__regex=TICKER_PATTERN), name="companies_ticker_format"),
            models.CheckConstraint(condition=Q(current_price__gt=0), name="companies_current_price_gt_0"),
            models.CheckConstraint(condition=Q(previous_price__gt=0), name="companies_previous_price_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.ticker} — {self.name}"

    @property
    def change(self) -> Decimal:
        """Since the last close."""
        return self.current_price - self.previous_price

    @property
    def change_pct(self) -> Decimal:
        return percent(self.change, self.previous_price)


class Participant(models.Model):
    """A team. Its cash and holdings change only through the trade engine."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="participant")
    display_name = models.TextField("team name")
    school = models.TextField(blank=True, default="")
    cash = models.DecimalField(max_digits=16, decimal_places=2, validators=[MinValueValidator(Decimal("0.00"))])
    starting_cash = models.DecimalField(
        max_digits=16, decimal_places=2, validators=[MinValueValidator(Decimal("0.00"))]
    )
    portfolio_value = models.DecimalField(
        max_digits=18, decimal_places=2, help_text="Cash plus holdings at current prices."
    )
    is_frozen = models.BooleanField(default=False, help_text="Frozen teams cannot trade.")
    trade_count = models.PositiveIntegerField(default=0)
    last_trade_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "participants"
        ordering = ["display_name"]
        constraints = [
            models.CheckConstraint(condition=Q(cash__gte=0), name="participants_cash_gte_0"),
            models.CheckConstraint(condition=Q(starting_cash__gte=0), name="participants_starting_cash_gte_0"),
            models.CheckConstraint(condition=Q(portfolio_value__gte=0), name="participants_portfolio_value_gte_0"),
            models.UniqueConstraint(Lower("display_name"), name="participants_display_name_ci_unique"),
        ]
        indexes = [models.Index(F("portfolio_value").desc(), name="participants_value_idx")]

    def __str__(self) -> str:
        return self.display_name


class Holding(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="holdings")
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="holdings")
    quantity = models.PositiveIntegerField(default=0)
    average_cost = models.DecimalField(max_digits=18, decimal_places=4, default=Decimal("0"))

    class Meta:
        db_table = "holdings"
        ordering = ["company__ticker"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "company"], name="holdings_one_per_participant_company"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="holdings_quantity_gte_0"),
            models.CheckConstraint(condition=Q(average_cost__gte=0), name="holdings_average_cost_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.participant} · {self.quantity} {self.company.ticker}"


class TradeType(models.TextChoices):
    BUY = "buy", "Buy"
    SELL = "sell", "Sell"


class Transaction(models.Model):
    """One executed trade. Never edited, only marked reversed: a reversal undoes it exactly (see
    `trade_reverse`), and a reversed trade counts nowhere (cash, holdings, trade count)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="transactions")
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="transactions")
    type = models.TextField(choices=TradeType.choices)
    quantity = models.IntegerField(validators=[MinValueValidator(1), MaxValueValidator(MAX_QUANTITY)])
    price = _positive_price()
    total = models.GeneratedField(
        expression=F("quantity") * F("price"),
        output_field=models.DecimalField(max_digits=24, decimal_places=2),
        db_persist=True,
    )
    fee = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0.00"))
    day = models.PositiveIntegerField(help_text="Trading day number.")
    idempotency_key = models.TextField(null=True, blank=True)  # noqa: DJ001 NULL = no key; unique only when set
    created_at = models.DateTimeField(auto_now_add=True)
    reversed_at = models.DateTimeField(null=True, blank=True, help_text="When an organiser reversed this trade.")
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reversal_reason = models.TextField(blank=True, default="")

    class Meta:
        db_table = "transactions"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(type__in=TradeType.values), name="transactions_type_valid"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0, quantity__lte=MAX_QUANTITY), name="transactions_quantity_range"
            ),
            models.CheckConstraint(condition=Q(price__gt=0), name="transactions_price_gt_0"),
            models.CheckConstraint(condition=Q(fee__gte=0), name="transactions_fee_gte_0"),
            models.UniqueConstraint(
                fields=["participant", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="transactions_idempotency_key_unique",
            ),
            # A reversal always says why.
            models.CheckConstraint(
                condition=Q(reversed_at__isnull=True) | ~Q(reversal_reason=""),
                name="transactions_reversal_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["participant", "-created_at"], name="transactions_participant_idx"),
            models.Index(fields=["-created_at"], name="transactions_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.quantity} {self.company_id} @ {self.price}"


class PricePoint(models.Model):
    """A company's price from `at` on: the history behind charts."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="history")
    price = _positive_price()
    at = models.DateTimeField()
    day = models.PositiveIntegerField(null=True, blank=True, help_text="Trading day it belongs to, if any.")

    class Meta:
        db_table = "price_history"
        ordering = ["company", "at"]
        constraints = [models.CheckConstraint(condition=Q(price__gt=0), name="price_history_price_gt_0")]
        indexes = [models.Index(fields=["company", "at"], name="price_history_company_at_idx")]

    def __str__(self) -> str:
        return f"{self.company_id} {self.price} at {self.at:%Y-%m-%d %H:%M}"


class TradingDay(models.Model):
    """Day N: open between its start bell and end bell."""

    number = models.PositiveIntegerField(unique=True, validators=[MinValueValidator(1)])
    scheduled_open_at = models.DateTimeField(null=True, blank=True)
    scheduled_close_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "trading_days"
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(condition=Q(number__gte=1), name="trading_days_number_gte_1"),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(opened_at__isnull=False, closed_at__gte=F("opened_at")),
                name="trading_days_closed_after_opened",
            ),
            models.CheckConstraint(
                condition=Q(scheduled_open_at__isnull=True)
                | Q(scheduled_close_at__isnull=True)
                | Q(scheduled_close_at__gt=F("scheduled_open_at")),
                name="trading_days_schedule_ordered",
            ),
            # At most one day is open at a time.
            models.UniqueConstraint(
                models.Value(True),
                condition=Q(opened_at__isnull=False, closed_at__isnull=True),
                name="trading_days_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"Day {self.number}"

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None and self.closed_at is None


class DailyValue(models.Model):
    """A team's value when day N closed: the daily leaderboard and the value chart."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="daily_values")
    day = models.PositiveIntegerField()
    cash = models.DecimalField(max_digits=16, decimal_places=2)
    value = models.DecimalField(max_digits=18, decimal_places=2)
    at = models.DateTimeField()

    class Meta:
        db_table = "daily_values"
        ordering = ["participant", "day"]
        constraints = [models.UniqueConstraint(fields=["participant", "day"], name="daily_values_one_per_day")]

    def __str__(self) -> str:
        return f"{self.participant} day {self.day}: {self.value}"


class AuditEntry(models.Model):
    """What an organiser did, when, to what. Written by the services, never edited."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.TextField()
    target = models.TextField(blank=True, default="", help_text="What it was done to, e.g. company:ACME.")
    data = models.JSONField(encoder=DjangoJSONEncoder, blank=True, default=dict)

    class Meta:
        db_table = "audit_log"
        ordering = ["-at"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.target}"


class CashAdjustment(models.Model):
    """Cash an organiser added or removed outside trading (a prize, a penalty, a correction)."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="cash_adjustments")
    amount = models.DecimalField(max_digits=16, decimal_places=2, help_text="Positive adds cash, negative removes.")
    reason = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "cash_adjustments"
        ordering = ["-at"]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="cash_adjustments_amount_not_0")]

    def __str__(self) -> str:
        return f"{self.participant} {self.amount:+}"


class IdempotencyRecord(models.Model):
    """The first answer to a team's request sent with an `Idempotency-Key`, replayed to its copies."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="idempotency_records")
    key = models.TextField()
    fingerprint = models.TextField(help_text="Hash of the request body; the same key with another body is refused.")
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField(encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "idempotency_keys"
        constraints = [
            models.UniqueConstraint(fields=["participant", "key"], name="idempotency_keys_unique_per_participant")
        ]

    def __str__(self) -> str:
        return f"{self.participant_id} {self.key}"


class ScheduledPrice(models.Model):
    """A price change an organiser prepared for a given time; the scheduler applies it once."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="scheduled_prices")
    price = _positive_price()
    at = models.DateTimeField(help_text="When the price changes.")
    applied_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "scheduled_prices"
        ordering = ["at"]
        constraints = [models.CheckConstraint(condition=Q(price__gt=0), name="scheduled_prices_price_gt_0")]
        indexes = [models.Index(fields=["at"], condition=Q(applied_at__isnull=True), name="scheduled_prices_due_idx")]

    def __str__(self) -> str:
        return f"{self.company_id} → {self.price} at {self.at:%Y-%m-%d %H:%M}"

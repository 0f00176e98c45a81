"""The trading days, the trades and the first answers to repeated requests."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from market.models.companies import Company
from market.models.fields import MAX_QUANTITY, positive_price
from market.models.teams import Participant


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
    price = positive_price()
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

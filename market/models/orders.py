"""Orders that wait (SPEC §4b): a team's limit and stop orders, each filled at most once."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from market.models.companies import Company
from market.models.fields import MAX_QUANTITY, positive_price
from market.models.teams import Participant
from market.models.trades import TradeType, Transaction


class OrderKind(models.TextChoices):
    LIMIT = "limit", "Limit"
    STOP = "stop", "Stop"


class OrderStatus(models.TextChoices):
    OPEN = "open", "Open"
    FILLED = "filled", "Filled"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"
    REJECTED = "rejected", "Rejected"


class OrderExpiry(models.TextChoices):
    DAY = "day", "End of the day"
    CANCEL = "cancel", "Until cancelled"


class Order(models.Model):
    """A team's order to buy or sell when the price reaches `price`. While open it holds what it
    may need (`reserved`: a buy's cash, price × quantity with the fee; a sell holds its shares in
    the holding's `reserved_quantity`); it ends filled (`transaction`), cancelled, expired or
    rejected (`reason`), and never opens again."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="orders")
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="orders")
    type = models.TextField(choices=TradeType.choices)
    kind = models.TextField(choices=OrderKind.choices)
    quantity = models.IntegerField(validators=[MinValueValidator(1), MaxValueValidator(MAX_QUANTITY)])
    price = positive_price(
        help_text="A limit buy fills at or below it, a limit sell at or above; a stop the other way."
    )
    expires = models.TextField(choices=OrderExpiry.choices, default=OrderExpiry.DAY)
    status = models.TextField(choices=OrderStatus.choices, default=OrderStatus.OPEN)
    reserved = models.DecimalField(
        max_digits=18, decimal_places=2, default=Decimal("0.00"), help_text="Cash held while a buy is open."
    )
    reason = models.TextField(blank=True, default="", help_text="Why it was rejected or cancelled.")
    idempotency_key = models.TextField(null=True, blank=True)  # noqa: DJ001 NULL = no key; unique only when set
    created_at = models.DateTimeField()
    filled_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was filled, cancelled, expired or rejected."
    )
    transaction = models.OneToOneField(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="order"
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        db_table = "orders"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(type__in=TradeType.values), name="orders_type_valid"),
            models.CheckConstraint(condition=Q(kind__in=OrderKind.values), name="orders_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=OrderStatus.values), name="orders_status_valid"),
            models.CheckConstraint(condition=Q(expires__in=OrderExpiry.values), name="orders_expires_valid"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0, quantity__lte=MAX_QUANTITY), name="orders_quantity_range"
            ),
            models.CheckConstraint(condition=Q(price__gt=0), name="orders_price_gt_0"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="orders_reserved_gte_0"),
            # Only an open order holds anything; a filled one names its trade.
            models.CheckConstraint(condition=Q(status="open") | Q(reserved=0), name="orders_reserved_only_open"),
            models.CheckConstraint(
                condition=~Q(status="filled") | Q(transaction__isnull=False), name="orders_filled_has_trade"
            ),
            models.UniqueConstraint(
                fields=["participant", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="orders_idempotency_key_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["participant", "-created_at"], name="orders_participant_idx"),
            # What a price change looks through: the open orders of one company, oldest first.
            models.Index(fields=["company", "created_at"], condition=Q(status="open"), name="orders_open_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.type} {self.quantity} {self.company.ticker} at {self.price} ({self.status})"

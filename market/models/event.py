"""The event's rules and what organisers did: the settings row and the audit log."""

import uuid  # noqa: F401
from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


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
    max_open_orders = models.PositiveIntegerField(
        default=20, help_text="How many limit and stop orders a team may have open at once."
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

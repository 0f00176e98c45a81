"""The teams: their cash, holdings, values at each close and organisers' cash adjustments."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from market.models.companies import Company


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
    # Cash its open buy orders hold (SPEC §4b); what it may spend is `cash - reserved_cash`.
    reserved_cash = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0.00"), editable=False)
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
            models.CheckConstraint(
                condition=Q(reserved_cash__gte=0, reserved_cash__lte=F("cash")), name="participants_reserved_cash_held"
            ),
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
    # Shares its open sell orders hold (SPEC §4b); what it may sell is `quantity - reserved_quantity`.
    reserved_quantity = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        db_table = "holdings"
        ordering = ["company__ticker"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "company"], name="holdings_one_per_participant_company"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="holdings_quantity_gte_0"),
            models.CheckConstraint(
                condition=Q(reserved_quantity__gte=0, reserved_quantity__lte=F("quantity")),
                name="holdings_reserved_quantity_held",
            ),
            models.CheckConstraint(condition=Q(average_cost__gte=0), name="holdings_average_cost_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.participant} · {self.quantity} {self.company.ticker}"


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

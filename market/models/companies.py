"""The companies, their price history and the price changes prepared for later."""

import uuid
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from market.models.fields import TICKER_PATTERN, positive_price
from market.money import percent


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
    current_price = positive_price()
    previous_price = positive_price(help_text="The last close; change is measured against it.")
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


class PricePoint(models.Model):
    """A company's price from `at` on: the history behind charts."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="history")
    price = positive_price()
    at = models.DateTimeField()
    day = models.PositiveIntegerField(null=True, blank=True, help_text="Trading day it belongs to, if any.")

    class Meta:
        db_table = "price_history"
        ordering = ["company", "at"]
        constraints = [models.CheckConstraint(condition=Q(price__gt=0), name="price_history_price_gt_0")]
        indexes = [models.Index(fields=["company", "at"], name="price_history_company_at_idx")]

    def __str__(self) -> str:
        return f"{self.company_id} {self.price} at {self.at:%Y-%m-%d %H:%M}"

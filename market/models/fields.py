"""The limits every money and quantity column shares."""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models

TICKER_PATTERN = r"^[A-Z0-9.]{1,10}$"
MAX_QUANTITY = 1_000_000_000
MAX_PRICE = Decimal("999999999999.99")  # NUMERIC(14,2)
MAX_CASH = Decimal("99999999999999.99")  # NUMERIC(16,2)


def positive_price(**kwargs) -> models.DecimalField:
    return models.DecimalField(
        max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))], **kwargs
    )

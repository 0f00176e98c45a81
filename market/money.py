"""Money is Decimal, rounded half-up to cents here and nowhere else."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def money(value: Decimal | int | str) -> Decimal:
    """Round to cents, half-up. Refuses floats: they cannot represent cents exactly."""
    if isinstance(value, float):
        raise TypeError("money() takes Decimal, int or str, never float")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


AVERAGE_PLACES = Decimal("0.0001")


def average_cost(total_cost: Decimal, quantity: int) -> Decimal:
    """Average price per share, half-up to four places (a ratio, shown rounded to cents)."""
    if quantity <= 0:
        return Decimal("0.0000")
    return (total_cost / quantity).quantize(AVERAGE_PLACES, rounding=ROUND_HALF_UP)


def percent(part: Decimal, whole: Decimal) -> Decimal:
    """part / whole as a percentage, half-up to two places; 0 when whole is 0."""
    if not whole:
        return Decimal("0.00")
    return (part * 100 / whole).quantize(CENT, rounding=ROUND_HALF_UP)

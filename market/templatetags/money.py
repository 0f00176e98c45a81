"""Money and changes as the pages show them: thousands separators, the event's currency, and an
arrow beside every colour (colour is never the only sign of up or down)."""

from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings

from market.money import money as to_cents

register = template.Library()


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


@register.filter
def money(value) -> str:
    """1234.5 → "1,234.50", with the event's currency label in front when it has one."""
    amount = _decimal(value)
    if amount is None:
        return "—"
    text = f"{to_cents(amount):,.2f}"
    return f"{settings.EVENT_CURRENCY} {text}" if settings.EVENT_CURRENCY else text


@register.filter
def amount(value) -> str:
    """A decimal with thousands separators and no currency (prices in a table)."""
    number = _decimal(value)
    return "—" if number is None else f"{to_cents(number):,.2f}"


@register.filter
def count(value) -> str:
    """A whole number with thousands separators."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "—"


@register.filter
def direction(value) -> str:
    """ "up", "down" or "flat": the class that colours a change."""
    number = _decimal(value)
    if number is None or number == 0:
        return "flat"
    return "up" if number > 0 else "down"


@register.filter
def signed(value) -> str:
    """A change with its arrow: "▲ 1.20", "▼ 0.35", "■ 0.00"."""
    number = _decimal(value)
    if number is None:
        return "—"
    arrow = {"up": "▲", "down": "▼", "flat": "■"}[direction(number)]
    return f"{arrow} {to_cents(abs(number)):,.2f}"


@register.filter
def rate(value) -> str:
    """A fee rate as a percentage: 0.0015 → "0.15%"."""
    number = _decimal(value)
    if number is None:
        return "—"
    percent = (number * 100).normalize()
    return f"{percent:f}%"


@register.filter
def minus(value, other):
    """`value − other`, exact (cash less what open orders hold): a Decimal, or None when either is not a number."""
    first, second = _decimal(value), _decimal(other)
    return None if first is None or second is None else first - second

"""Orders that wait (SPEC §4b) in a team's words: when one fills, and how long it lasts."""

from django import template

from market.templatetags.money import money

register = template.Library()


@register.filter
def condition(order) -> str:
    """When the order fills: "at 9.50 or less", "once the price falls to 8.00"."""
    price = money(order.price)
    if order.kind == "limit":
        return f"at {price} or less" if order.type == "buy" else f"at {price} or more"
    return f"once the price rises to {price}" if order.type == "buy" else f"once the price falls to {price}"


@register.filter
def until(order) -> str:
    return "until the end of the day" if order.expires == "day" else "until you cancel it"

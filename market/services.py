"""The market's state changes. Every function here is the only way its change happens."""

from decimal import Decimal

from django.db import transaction

from accounts.models import User
from market.models import EventSettings, Participant
from market.money import money


@transaction.atomic
def participant_create(
    *, user: User, display_name: str, school: str = "", starting_cash: Decimal | None = None
) -> Participant:
    """A new team with the event's starting cash (or the given amount), valued at its cash."""
    if starting_cash is None:
        starting_cash = EventSettings.load().starting_cash
    cash = money(starting_cash)
    return Participant.objects.create(
        user=user,
        display_name=display_name,
        school=school,
        cash=cash,
        starting_cash=cash,
        portfolio_value=cash,
    )

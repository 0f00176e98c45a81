"""What every page knows: the event, the market's state, and the visitor's team. All lazy, so a
page that shows none of them (the admin, say) costs no query."""

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from market import selectors
from market.models import EventSettings, Participant


def _team(request: HttpRequest) -> Participant | None:
    known = getattr(request, "participant", None)  # set by team_required
    if known is not None:
        return known
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.is_staff:
        return None
    return Participant.objects.filter(user=user).first()


def event(request: HttpRequest) -> dict:
    team = SimpleLazyObject(lambda: _team(request))
    return {
        "event": SimpleLazyObject(EventSettings.load),
        "market": SimpleLazyObject(selectors.market_state),
        "team": team,
        "team_rank": SimpleLazyObject(lambda: selectors.participant_rank(team) if team else None),
        "currency": settings.EVENT_CURRENCY,
        "event_timezone": settings.EVENT_TIMEZONE,
    }

"""The market's side of the live layer (overlay/domain.py): who watches (teams, organisers, the
overlays' token), what a connection's snapshot holds of the market for its topics, and the bell
rung over a socket. Handed over at start-up (market/apps.py)."""

import secrets

from django.conf import settings
from rest_framework.exceptions import AuthenticationFailed

from accounts.models import Role
from market import events, services
from market.authentication import TokenAuthentication
from market.models import EventSettings
from overlay import domain
from overlay.domain import CommandRefused
from overlay.viewers import ADMIN, PARTICIPANT, Viewer

BELL_ACTIONS = ("start_day", "end_day")


def viewer_for_user(user) -> Viewer | None:
    """The viewer for a signed-in user, or None when the account may not watch."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.role == Role.ADMIN:
        return Viewer(ADMIN, user)
    if user.role == Role.PARTICIPANT and hasattr(user, "participant"):
        return Viewer(PARTICIPANT, user)
    return None


def current_overlay_token() -> str:
    """The token in the overlay URLs: the one a rotation stored, else the OVERLAY_TOKEN variable.

    Read from the database every time, never kept in a process: with several server processes a
    token kept in one of them would let a rotated-out URL back in there.
    """
    stored = EventSettings.objects.filter(pk=1).values_list("overlay_token", flat=True).first()
    return stored or settings.OVERLAY_TOKEN


def overlay_token_ok(token: str | None) -> bool:
    """Whether `token` is the current overlay token. No token set means no overlay gets in."""
    if not token:
        return False
    expected = current_overlay_token()
    return bool(expected) and secrets.compare_digest(token.encode(), expected.encode())


def user_for_api_token(key: str):
    """The user of an API token, checked as the API checks it; None for a wrong one."""
    try:
        user, _ = TokenAuthentication().authenticate_credentials(key)
    except AuthenticationFailed:
        return None
    return user


def ring_bell(viewer: Viewer, command: dict) -> None:
    """`{"type": "bell", "action": "start_day"|"end_day"}` from an organiser's socket."""
    if not viewer.is_admin:
        raise CommandRefused("forbidden", "Only organisers can ring the bell.")
    action = command.get("action")
    if action not in BELL_ACTIONS:
        raise CommandRefused("malformed", 'The bell takes "action": "start_day" or "end_day".')
    if action == "start_day":
        services.market_open(by=viewer.user)
    else:
        services.market_close(by=viewer.user)


def _leaderboard(viewer: Viewer) -> list:
    # Empty for a team while the event hides the leaderboard; organisers and overlays see it.
    shown = viewer.sees_staff_events or events.leaderboard_visible_to_teams()
    return events.cached_leaderboard() if shown else []


def _portfolio(viewer: Viewer) -> dict | None:
    return events.portfolio(viewer.user.participant) if viewer.is_team else None


def _orders(viewer: Viewer) -> list | None:
    return events.open_orders(viewer.user.participant) if viewer.is_team else None


def register() -> None:
    domain.provide(
        viewer_for_user=viewer_for_user, overlay_token_ok=overlay_token_ok, user_for_api_token=user_for_api_token
    )
    domain.snapshot_part("market", topic=None, build=lambda viewer: events.cached_market())
    domain.snapshot_part("companies", topic="market", build=lambda viewer: events.cached_companies())
    domain.snapshot_part("leaderboard", topic="leaderboard", build=_leaderboard)
    domain.snapshot_part("portfolio", topic="own", build=_portfolio)
    domain.snapshot_part("orders", topic="own", build=_orders)
    domain.snapshot_part("trades", topic="trades", build=lambda viewer: events.latest_trades())
    domain.command("bell", ring_bell)

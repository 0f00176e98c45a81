"""Who is watching: an overlay (by token), an organiser, or a team, and what they subscribed to.
Shared by WebSocket and SSE. Which account is which comes from the market (overlay.domain)."""

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from overlay.events import (
    ALL,
    CUES,
    DEFAULT_TOPICS,
    MARKET_GROUP,
    ORGANISERS,
    OWN,
    STAFF,
    TOPICS,
    TRADES_GROUP,
    address_of,
)

OVERLAY = "overlay"
ADMIN = "admin"
PARTICIPANT = "participant"


@dataclass(frozen=True)
class Viewer:
    kind: str
    user: Any = None  # the signed-in account (None for an overlay)

    @property
    def is_admin(self) -> bool:
        return self.kind == ADMIN

    @property
    def is_team(self) -> bool:
        return self.kind == PARTICIPANT

    @property
    def address(self) -> str | None:
        """What a signed-in user's own events are addressed to (overlay.events.address_of)."""
        return address_of(self.user.pk) if self.user is not None else None

    def groups(self, topics: frozenset[str]) -> tuple[str, ...]:
        """The channel-layer groups that carry `topics` to this viewer. Every connection is in the
        market group (bells, prices, news, leaderboards, a team's own events, and the messages
        that end connections); the tape only for those who asked for it."""
        return (MARKET_GROUP, TRADES_GROUP) if "trades" in topics else (MARKET_GROUP,)

    @property
    def sees_staff_events(self) -> bool:
        return self.kind in (OVERLAY, ADMIN)

    def may_see(self, audience: str) -> bool:
        if audience == ORGANISERS:
            return self.is_admin
        return audience == ALL or (audience == STAFF and self.sees_staff_events)


def token_from_query(query_string: bytes | str) -> str | None:
    if isinstance(query_string, bytes):
        query_string = query_string.decode("latin-1")
    values = parse_qs(query_string).get("token")
    return values[0] if values else None


class TopicsRefused(ValueError):
    """`?topics=` named something this connection cannot subscribe to (SPEC §5: bad input)."""


def topics_from_query(query_string: bytes | str, viewer: Viewer) -> frozenset[str]:
    """The topics a connection asked for with `?topics=a,b` (comma-separated; the parameter may be
    repeated); without it, every topic but the trade tape."""
    if isinstance(query_string, bytes):
        query_string = query_string.decode("latin-1")
    values = parse_qs(query_string, keep_blank_values=True).get("topics")
    if values is None:
        return DEFAULT_TOPICS
    names = {name.strip() for value in values for name in value.split(",")} - {""}
    if not names:
        raise TopicsRefused(f"Name at least one topic: {', '.join(TOPICS)}.")
    unknown = sorted(names - set(TOPICS))
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:5])
        raise TopicsRefused(f"Unknown topic {shown}: the topics are {', '.join(TOPICS)}.")
    if OWN in names and not viewer.is_team:
        raise TopicsRefused(f"The topic {OWN!r} is a team's own portfolio and orders: sign in as a team.")
    if CUES in names and not viewer.is_admin:
        raise TopicsRefused(f"The topic {CUES!r} is the run sheet: sign in as an organiser.")
    return frozenset(names)


OVERLAY_VIEWER = Viewer(OVERLAY)

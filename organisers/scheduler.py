"""Fires the run sheet's cues when due (day opens and closes, news, price changes, notes: SPEC
§6b), announces news whose time came, and fills the waiting orders they made due (each process
fills them after its own changes; this pass catches what a stopped process left).

Each cue fires exactly once, in order, even with two schedulers running: every firing is a
database transaction that takes the run sheet's row and marks the cue in the same commit
(organisers.runsheet.services). Cues that fell due while no scheduler ran fire on the next tick,
in time order, their delay recorded.
"""

import logging
from datetime import datetime

from django.utils import timezone

from market.services import book_fill_due
from newsroom.models import News
from newsroom.services import news_announce_due
from organisers.runsheet.services import cues_due_since, cues_fire_due

logger = logging.getLogger(__name__)


def due_since(now: datetime) -> datetime | None:
    """When the oldest item that is due and has not fired (a cue, news) fell due; None if nothing
    waits. How late the scheduler is, for the on-call's dashboard."""
    times = [
        cues_due_since(now),
        News.objects.filter(announced_at__isnull=True, published_at__lte=now)
        .order_by("published_at")
        .values_list("published_at", flat=True)
        .first(),
    ]
    return min((time for time in times if time is not None), default=None)


def _fire_due_cues(now: datetime) -> list[str]:
    return [f"cue {cue.action} (day {cue.day}, {cue.at}): {cue.status}" for cue in cues_fire_due(now=now)]


def _announce_due_news(now: datetime) -> list[str]:
    return [f"news {news.title!r}" for news in news_announce_due(now=now)]


def _fill_due_orders(now: datetime) -> list[str]:
    filled = book_fill_due()
    return [f"{filled} waiting orders filled"] if filled else []


STEPS = (_fire_due_cues, _announce_due_news, _fill_due_orders)


def run_due(now: datetime | None = None) -> list[str]:
    """One tick: fire everything due at `now`. Returns what fired, for the log.

    Each step stands alone: one that fails (a price the database refuses, say) is logged and
    retried next tick, and does not hold back the others.
    """
    now = now or timezone.now()
    fired = []
    for step in STEPS:
        try:
            fired += step(now)
        except Exception:  # logged with its traceback; the next tick tries again
            logger.exception("scheduler step %s failed", step.__name__)
    return fired

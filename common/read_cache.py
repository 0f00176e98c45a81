"""The hot public reads (companies, news, leaderboard, market) served from the cache.

Every team's screen asks for them at once after a bell or a headline; they are the same for
everyone, so each is built once per change instead of once per request.

Each area has a generation in the cache. A cached read is stored with the generation it saw
before it read the database, and served only while that generation is current. The services
that change an area call `reads_changed(area)`: once their transaction commits, the area gets a
new generation, before any live event of that change leaves (events are sent after the commit,
by callbacks registered later), so a screen that reads on an event reads the change. A read that
raced the change stored its result under the old generation, and nobody is served it.

On only with READ_CACHE (default: when the cache is Redis, shared by every server process and
the scheduler; a process's own memory would not hear the scheduler's changes). A cache that is
down means reads from the database, not errors.
"""

import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

AREAS = ("companies", "news", "leaderboard", "market")
PAGE_NUMBER = re.compile(r"^[1-9][0-9]{0,5}$")
# How long an entry may live at most: it also bounds how long a change made outside the services
# (a hand edit in the database) stays unseen.
ENTRY_SECONDS = 60


def _generation_key(area: str) -> str:
    return f"reads:{area}:generation"


def read_cached(area: str, key: str, build: Callable[[], Any], *, seconds: Callable[[], float] | None = None) -> Any:
    """`build()`'s result for (`area`, `key`), from the cache while nothing in `area` changed.

    `seconds`, asked just before a build, may keep the result for less than ENTRY_SECONDS (a
    read that changes with the clock: the news feed until its next scheduled item)."""
    if area not in AREAS:
        raise ValueError(f"unknown read area {area!r}")
    if not settings.READ_CACHE:
        return build()
    generation_key, entry_key = _generation_key(area), f"reads:{area}:entry:{key}"
    try:
        found = cache.get_many([generation_key, entry_key])
        generation = found.get(generation_key)
        if generation is None:
            cache.add(generation_key, uuid.uuid4().hex, None)
            generation = cache.get(generation_key)
    except Exception:
        logger.warning("read cache unavailable; reading %s from the database", area, exc_info=True)
        return build()
    entry = found.get(entry_key)
    if entry is not None and entry[0] == generation:
        return entry[1]
    keep = min(ENTRY_SECONDS, seconds()) if seconds is not None else ENTRY_SECONDS
    value = build()
    if keep > 0:
        try:
            cache.set(entry_key, (generation, value), keep)
        except Exception:
            logger.warning("read cache unavailable; %s not kept", area, exc_info=True)
    return value


def reads_changed(*areas: str) -> None:
    """What was read in `areas` is out of date once the current transaction commits."""
    unknown = set(areas) - set(AREAS)
    if unknown:
        raise ValueError(f"unknown read areas {sorted(unknown)}")
    if settings.READ_CACHE:
        transaction.on_commit(lambda: _new_generations(areas), robust=True)


def _new_generations(areas: tuple[str, ...]) -> None:
    try:
        cache.set_many({_generation_key(area): uuid.uuid4().hex for area in areas}, None)
    except Exception:  # entries still expire within ENTRY_SECONDS
        logger.error("read cache not invalidated for %s", ", ".join(areas), exc_info=True)


def page_key(request) -> str | None:
    """The key of one page of a list (its links name the host), or None when the query string
    holds anything but `page`: such a request is answered from the database, so nobody can fill
    the cache with variants."""
    if set(request.query_params) - {"page"} or len(request.query_params.getlist("page")) > 1:
        return None
    page = request.query_params.get("page", "1")
    if not PAGE_NUMBER.match(page):
        return None  # "01", "+1", " 1" name the same page: only the plain form is kept
    return f"{request.scheme}://{request.get_host()}{request.path}?page={page}"

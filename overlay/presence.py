"""Which teams have the live market open: their open sockets, counted in the shared cache.

Each team's key holds how many sockets it has open (the team pages on a laptop, a phone...): a
socket adds one when it connects and takes one away when it closes, so a team with two sockets
stays online until both have closed. The key lives PRESENCE_TTL seconds and every `ping` (the
pages ping every 10 s) extends it: a server process that dies without closing its sockets leaves
its teams online only until their keys expire, and a socket whose key was lost (expired, or
cleared by a neighbour's close racing its connect) puts it back at its next ping.

With `REDIS_URL` the cache is Redis, so every server process counts into the same keys.
Presence is best-effort: a cache that is down never breaks a socket.
"""

import logging
from collections.abc import Iterable

from django.core.cache import cache

logger = logging.getLogger(__name__)

PRESENCE_TTL = 30  # seconds: three missed pings


def presence_key(user_id) -> str:
    return f"presence:user:{user_id}"


async def socket_opened(user_id) -> None:
    key = presence_key(user_id)
    try:
        await cache.aadd(key, 0, PRESENCE_TTL)
        try:
            count = await cache.aincr(key)
        except ValueError:  # expired between the two calls
            count = 0
        if count < 1:  # lost or driven below zero by a close racing an expiry: this socket is open
            await cache.aset(key, 1, PRESENCE_TTL)
        else:
            await cache.atouch(key, PRESENCE_TTL)
    except Exception:  # presence only informs the organisers; the socket works without it
        logger.exception("marking %s present failed", key)


async def socket_alive(user_id) -> None:
    key = presence_key(user_id)
    try:
        if not await cache.atouch(key, PRESENCE_TTL):
            await cache.aadd(key, 1, PRESENCE_TTL)  # the key was lost: this socket at least is open
    except Exception:
        logger.exception("refreshing %s failed", key)


async def socket_closed(user_id) -> None:
    key = presence_key(user_id)
    try:
        try:
            left = await cache.adecr(key)
        except ValueError:  # already expired
            return
        if left <= 0:
            await cache.adelete(key)
    except Exception:
        logger.exception("clearing %s failed", key)


def online_user_ids(user_ids: Iterable) -> set:
    """The users among these with a socket open, in one read of the cache."""
    keys = {presence_key(user_id): user_id for user_id in user_ids}
    if not keys:
        return set()
    found = cache.get_many(list(keys))
    return {keys[key] for key, count in found.items() if isinstance(count, int) and count > 0}

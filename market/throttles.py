"""The trade allowance (THROTTLE_TRADES, 300 a minute per team by default), shared by the API and
the trade page.

DRF's throttle reads a team's list of recent requests from the cache and writes it back: two
round trips, and two requests of one team at the same moment both read the same list, so both
pass where only one should (DRF's documentation says as much). With Redis the check is one Lua
script instead: Redis runs it alone, so the allowance is exact however many server processes
take the team's orders at once, and it costs one round trip. Redis's clock is the only one
used, so servers whose clocks differ count alike. With the local-memory cache (one process, no
Redis) DRF's own throttle does the counting.
"""

import logging
import uuid

from django.core.cache import caches
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework.throttling import UserRateThrottle

from common import metrics
from common.cache import RedisCache

logger = logging.getLogger(__name__)

# KEYS[1]: the team's log of allowed requests, a sorted set scored by the time in ms.
# ARGV: the window in ms, the allowance, a member unique to this request.
# Returns {1, 0} when allowed (and logged), else {0, ms until the oldest leaves the window}.
SLIDING_LOG = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
    redis.call('ZADD', KEYS[1], now, ARGV[3])
    redis.call('PEXPIRE', KEYS[1], window)
    return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #oldest == 0 then
    return {0, window}
end
return {0, tonumber(oldest[2]) + window - now}
"""


class TradeThrottle(UserRateThrottle):
    scope = "trades"
    _script = None  # registered with the Redis client on first use

    def allow_request(self, request, view) -> bool:
        backend = caches["default"]
        if isinstance(backend, RedisCache):
            allowed = self._allow_on_redis(backend, request, view)
        else:
            allowed = super().allow_request(request, view)
        if not allowed:
            metrics.trade_refused("throttled")
        return allowed

    def wait(self) -> float | None:
        if hasattr(self, "_wait"):
            return self._wait
        return super().wait()

    def _allow_on_redis(self, backend: RedisCache, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        if self.num_requests <= 0:  # "0/min": no orders at all, as DRF's throttle has it
            self._wait = float(self.duration)
            return False
        try:
            client = backend._cache.get_client(write=True)
            if TradeThrottle._script is None:
                TradeThrottle._script = client.register_script(SLIDING_LOG)
            allowed, wait_ms = TradeThrottle._script(
                # A key of its own: DRF's throttle keeps a list under `key` (a server of an
                # earlier release, during an upgrade), and the two must not meet.
                keys=[backend.make_key(f"{key}:log")],
                args=[self.duration * 1000, self.num_requests, uuid.uuid4().hex],
                client=client,
            )
        except (RedisConnectionError, RedisTimeoutError):  # Redis down: orders go on rather than all refused
            logger.error("trade allowance unavailable; order let through", exc_info=True)
            return True
        self._wait = max(wait_ms, 0) / 1000
        return bool(allowed)

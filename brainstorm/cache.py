"""Django's Redis cache, with one connection pool per server process.

Django keeps a cache object per request context, and each made its own connection pool: under
ASGI every request opened a new connection to Redis (connect, handshake, close) just to read a
throttle counter. The client, and the pool inside it, is shared by every cache object of the
process that has the same location and options; redis-py's pool is safe across threads.
"""

import threading

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.utils.functional import cached_property

_clients: dict = {}
_clients_lock = threading.Lock()


class RedisCache(DjangoRedisCache):
    @cached_property
    def _cache(self):
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with _clients_lock:
            if key not in _clients:
                _clients[key] = self._class(self._servers, **self._options)
            return _clients[key]

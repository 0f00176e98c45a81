"""Django's Redis cache, with one connection pool per server process.

Django keeps a cache object per request context, and each made its own connection pool: under
ASGI every request opened a new connection to Redis (connect, handshake, close) just to read a
throttle counter. The client, and the pool inside it, is shared by every cache object of the
process that has the same location and options; redis-py's pool is safe across threads.

Django also made a new `redis.Redis` object for every cache call, whose constructor costs about a
tenth of a millisecond (a trade makes three calls: docs/performance.md). One object per pool is
kept instead: redis-py's client takes a connection from its pool for each command, and is meant
to be shared by threads.
"""

import threading

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from django.utils.functional import cached_property

_clients: dict = {}
_clients_lock = threading.Lock()


class SharedRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._redis_clients: dict = {}  # one redis.Redis per connection pool
        self._redis_lock = threading.Lock()

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._redis_clients.get(pool)
        if client is None:
            with self._redis_lock:
                client = self._redis_clients.setdefault(pool, self._client(connection_pool=pool))
        return client


class RedisCache(DjangoRedisCache):
    @cached_property
    def _cache(self):
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with _clients_lock:
            if key not in _clients:
                _clients[key] = SharedRedisCacheClient(self._servers, **self._options)
            return _clients[key]

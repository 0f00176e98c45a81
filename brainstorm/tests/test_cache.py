"""Django makes a cache object per request context; with Redis they must share one connection pool."""

from brainstorm.cache import RedisCache


def test_cache_objects_for_one_redis_share_one_client_and_its_pools():
    first = RedisCache("redis://127.0.0.1:6379/14", {})
    second = RedisCache("redis://127.0.0.1:6379/14", {})
    elsewhere = RedisCache("redis://127.0.0.1:6379/13", {})
    assert first._cache is second._cache
    assert first._cache is not elsewhere._cache

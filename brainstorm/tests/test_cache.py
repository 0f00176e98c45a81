"""Django makes a cache object per request context; with Redis they must share one connection pool."""

from common.cache import RedisCache


def test_cache_objects_for_one_redis_share_one_client_and_its_pools():
    first = RedisCache("redis://127.0.0.1:6379/14", {})
    second = RedisCache("redis://127.0.0.1:6379/14", {})
    elsewhere = RedisCache("redis://127.0.0.1:6379/13", {})
    assert first._cache is second._cache
    assert first._cache is not elsewhere._cache


def test_every_cache_call_of_a_process_uses_one_redis_client_shared_by_threads():
    from concurrent.futures import ThreadPoolExecutor

    first = RedisCache("redis://127.0.0.1:6379/14", {})
    second = RedisCache("redis://127.0.0.1:6379/14", {})
    client = first._cache.get_client()
    assert first._cache.get_client(write=True) is client
    assert second._cache.get_client("any key") is client

    def round_trip(n: int) -> int:
        second.set(f"shared-client-{n}", n, 30)
        return first.get(f"shared-client-{n}")

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(round_trip, range(64))) == list(range(64))
    first.delete_many([f"shared-client-{n}" for n in range(64)])

"""Settings that need more than a type to be read from the environment: each refuses to start on a
value that would otherwise lock everybody out, or let everybody in, without a word. And the
channel layer's settings, made from the values read."""

import ipaddress

import environ
from django.core.exceptions import ImproperlyConfigured


def env_networks(env: environ.Env, name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """A comma-separated list of addresses or CIDR ranges; a bad one stops the start."""
    networks = []
    for item in (part.strip() for part in env.list(name, default=[])):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: {item!r} is not an IP address or range ({exc}).") from exc
    return networks


def env_seb_keys(env: environ.Env, name: str) -> list[str]:
    """SEB keys are SHA-256 digests in hex: a mistyped one would lock every team out, so refuse it."""
    keys = [item.strip().lower() for item in env.list(name, default=[]) if item.strip()]
    for number, key in enumerate(keys, 1):
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            # Without the value: a key half-right is still half a secret in a log.
            raise ImproperlyConfigured(f"{name}: key {number} is not a key as SEB shows it (64 hexadecimal digits).")
    return keys


def channel_layers(redis_url: str, *, capacity: int, hub_capacity: int, expiry: int, socket_timeout: float) -> dict:
    """Redis with `redis_url`, else the in-memory layer (one process). `capacity` events may wait
    for one receiver before the newest are dropped; each server process's hub channel
    (overlay.hub) gets `hub_capacity`, as it receives everything its sockets hear.

    Each process waits on Redis in blocking reads of 5 s (channels_redis' BZPOPMIN); redis-py
    gives up on a read after `socket_timeout` (5 s by default since redis-py 8, which closed a
    quiet market's sockets): reads may take longer than the block, and a connection Redis
    dropped still fails within that many seconds."""
    if not redis_url:
        # Channels 4.3's in-memory layer cannot take channel_capacity (it never compiles the
        # patterns), so every channel gets the hub's room.
        return {
            "default": {
                "BACKEND": "channels.layers.InMemoryChannelLayer",
                "CONFIG": {"capacity": hub_capacity, "expiry": expiry},
            }
        }
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": redis_url, "socket_timeout": socket_timeout}],
                "capacity": capacity,
                "channel_capacity": {"live-hub.*": hub_capacity},  # overlay.hub.CHANNEL_PREFIX
                "expiry": expiry,
            },
        }
    }

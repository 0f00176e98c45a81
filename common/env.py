"""Settings that need more than a type to be read from the environment: each refuses to start on a
value that would otherwise lock everybody out, or let everybody in, without a word."""

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

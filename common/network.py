"""Who is asking, and whether the venue's network lets them in (SPEC §10).

The client's address is the socket's, unless the socket belongs to one of TRUSTED_PROXIES: then
X-Forwarded-For is believed, hop by hop from the right (each of our proxies appends the address
it received from), up to the first address that is not one of ours. django-ipware reads the
chain. A client that sends its own X-Forwarded-For only adds hops to the left of the real ones.

ALLOWED_CIDR (empty: everyone) is enforced on every HTTP path (ClientAddressMiddleware and
AllowListMiddleware), on SSE (an HTTP path) and on the WebSocket (NetworkGuard, in the Channels
stack: a socket does not pass through Django's middleware). /api/health stays open for load
balancers (and /metrics, answered before this check: common.metrics guards it).
"""

import ipaddress
from collections.abc import Iterable
from types import SimpleNamespace

from django.conf import settings
from ipware import get_client_ip
from python_ipware.modern.parsers import split_proxy_chain

from common.problems import problem_response
from common.views import forbidden

OPEN_PATHS = ("/api/health",)
PEER_KEY = "BRAINSTORM_PEER_ADDR"  # the socket's own address, kept beside the client's


def _address(text: str | None):
    try:
        return ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None


def _within(address, networks: Iterable) -> bool:
    if address is None:
        return False
    if getattr(address, "ipv4_mapped", None) is not None:
        address = address.ipv4_mapped  # ::ffff:10.1.2.3 is 10.1.2.3
    return any(address.version == network.version and address in network for network in networks)


def client_ip(meta: dict) -> str:
    """The client's address for a request's META (REMOTE_ADDR, HTTP_X_FORWARDED_FOR)."""
    peer = meta.get("REMOTE_ADDR") or ""
    trusted = settings.TRUSTED_PROXIES
    if not trusted or not _within(_address(peer), trusted):
        return peer
    chain = split_proxy_chain(meta.get("HTTP_X_FORWARDED_FOR")) or []
    ours = 0
    for hop in reversed(chain):
        if not _within(hop, trusted):
            break
        ours += 1
    if ours >= len(chain):
        return peer  # nothing but our own proxies: the nearest one is as far as we can see
    found, _routable = get_client_ip(
        SimpleNamespace(META=meta),
        proxy_count=ours,
        strict=False,
        request_header_order=["HTTP_X_FORWARDED_FOR"],
    )
    return found or peer


def within(ip: str, networks: Iterable) -> bool:
    """Whether the address `ip` (text) is in one of `networks`."""
    return _within(_address(ip), networks)


def allowed(ip: str) -> bool:
    networks = settings.ALLOWED_CIDR
    return not networks or within(ip, networks)


class ClientAddressMiddleware:
    """REMOTE_ADDR becomes the client's address, so throttles, sign-in protection and the
    allow-list all see the same one; the socket's own stays in META[PEER_KEY]."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        peer = request.META.get("REMOTE_ADDR", "")
        request.META[PEER_KEY] = peer
        if not _within(_address(peer), settings.TRUSTED_PROXIES):
            # Only our proxies may say the request came over HTTPS (SECURE_PROXY_SSL_HEADER).
            request.META.pop("HTTP_X_FORWARDED_PROTO", None)
        elif "," in request.META.get("HTTP_X_FORWARDED_PROTO", ""):
            # A proxy that appends: only the value it added (the last) is its own.
            request.META["HTTP_X_FORWARDED_PROTO"] = request.META["HTTP_X_FORWARDED_PROTO"].rsplit(",", 1)[1].strip()
        request.META["REMOTE_ADDR"] = client_ip(request.META)
        return self.get_response(request)


class AllowListMiddleware:
    """Only addresses in ALLOWED_CIDR get in: the API answers a 403 problem, pages the
    "Access restricted from your network" page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path in OPEN_PATHS or allowed(request.META.get("REMOTE_ADDR", "")):
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return problem_response(
                request, status=403, code="network_blocked", detail="Access restricted from your network."
            )
        return forbidden(request, reason="network")


class NetworkGuard:
    """The same for the WebSocket: the scope's client becomes the client's address, and a socket
    from outside ALLOWED_CIDR is accepted only to be closed with 4403 (so the page can tell)."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.inner(scope, receive, send)
        # Every X-Forwarded-For header, joined in order, as Django does for HTTP.
        forwarded = ",".join(
            value.decode("latin-1") for name, value in scope.get("headers", []) if name.lower() == b"x-forwarded-for"
        )
        peer, port = (scope.get("client") or ("", 0))[:2]
        ip = client_ip({"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": forwarded or None})
        if not allowed(ip):
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": 4403})
            return None
        return await self.inner({**scope, "client": (ip, port)}, receive, send)

"""The venue's network: ALLOWED_CIDR on every HTTP path, the WebSocket and SSE; X-Forwarded-For
believed only from TRUSTED_PROXIES."""

import ipaddress

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from brainstorm.asgi import application
from common.network import client_ip
from market.tests.helpers import assert_problem
from overlay.tests.conftest import TOKEN

pytestmark = pytest.mark.django_db(transaction=True)


def ranges(*items: str) -> list:
    return [ipaddress.ip_network(item, strict=False) for item in items]


@pytest.fixture
def venue(settings):
    settings.ALLOWED_CIDR = ranges("10.0.0.0/8")
    settings.TRUSTED_PROXIES = []
    return settings


def socket_close_code(client: tuple[str, int], headers=()) -> int | None:
    """Connect to /api/ws with the overlay token from `client`: the close code, or None if it stays open."""

    async def scenario():
        ws = WebsocketCommunicator(application, f"/api/ws?token={TOKEN}", headers=list(headers))
        ws.scope["client"] = client
        connected, _ = await ws.connect()
        assert connected
        first = await ws.receive_output()
        code = first.get("code") if first["type"] == "websocket.close" else None
        await ws.disconnect()
        return code

    return async_to_sync(scenario)()


# Who the client is


@pytest.mark.parametrize(
    "peer, forwarded, trusted, expected",
    [
        ("127.0.0.1", "10.1.2.3", [], "127.0.0.1"),  # not from a proxy: the header is ignored
        ("127.0.0.1", "10.1.2.3", ["127.0.0.1"], "10.1.2.3"),  # from our proxy: believed
        ("127.0.0.1", "10.9.9.9, 203.0.113.7", ["127.0.0.1"], "203.0.113.7"),  # a forged hop is left of ours
        ("127.0.0.1", "203.0.113.7, 172.16.0.2", ["127.0.0.0/8", "172.16.0.0/12"], "203.0.113.7"),  # two proxies
        ("10.0.0.1", "", ["10.0.0.0/8"], "10.0.0.1"),  # no header: the proxy itself
        ("::1", "2001:db8::42", ["::1"], "2001:db8::42"),  # IPv6
    ],
)
def test_the_client_address_believes_only_trusted_proxies(settings, peer, forwarded, trusted, expected):
    settings.TRUSTED_PROXIES = ranges(*trusted)

    assert client_ip({"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": forwarded}) == expected


# HTTP


def test_a_client_outside_the_ranges_is_refused_even_with_a_forged_header(client, venue):
    api = client.get("/api/market", HTTP_X_FORWARDED_FOR="10.1.2.3")
    page = client.get("/signin/", HTTP_X_FORWARDED_FOR="10.1.2.3")

    assert_problem(api, 403, "network_blocked")
    assert page.status_code == 403
    assert "Access restricted from your network" in page.content.decode()


def test_the_same_header_from_a_trusted_proxy_is_believed(client, venue):
    venue.TRUSTED_PROXIES = ranges("127.0.0.1")

    assert client.get("/api/market", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 200
    assert client.get("/api/market", HTTP_X_FORWARDED_FOR="192.168.1.5").status_code == 403


def test_the_health_check_stays_open_for_the_load_balancer(client, venue):
    assert client.get("/api/health").status_code == 200


def test_ipv6_ranges(client, settings):
    settings.ALLOWED_CIDR = ranges("2001:db8::/32")

    assert client.get("/api/market", REMOTE_ADDR="2001:db8::5").status_code == 200
    assert client.get("/api/market", REMOTE_ADDR="2001:db9::5").status_code == 403
    assert client.get("/api/market").status_code == 403  # 127.0.0.1


def test_sse_is_refused_outside_the_ranges(client, venue):
    response = client.get("/api/obs/events", {"token": TOKEN}, HTTP_X_FORWARDED_FOR="10.1.2.3")

    assert_problem(response, 403, "network_blocked")


def test_everyone_gets_in_when_no_range_is_set(client, settings):
    settings.ALLOWED_CIDR = []

    assert client.get("/api/market", REMOTE_ADDR="203.0.113.9").status_code == 200


# WebSocket


def test_a_socket_from_outside_the_ranges_is_closed_with_4403_even_with_a_forged_header(venue):
    code = socket_close_code(("127.0.0.1", 5000), headers=[(b"x-forwarded-for", b"10.1.2.3")])

    assert code == 4403


def test_a_socket_inside_the_ranges_gets_the_snapshot(venue):
    assert socket_close_code(("10.20.30.40", 5000)) is None


def test_a_socket_through_a_trusted_proxy_counts_the_forwarded_address(venue):
    venue.TRUSTED_PROXIES = ranges("127.0.0.1")

    assert socket_close_code(("127.0.0.1", 5000), headers=[(b"x-forwarded-for", b"10.1.2.3")]) is None
    assert socket_close_code(("127.0.0.1", 5000), headers=[(b"x-forwarded-for", b"8.8.8.8")]) == 4403


# The address everything else sees


def test_throttles_count_each_client_behind_the_proxy_on_its_own(client, settings, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    settings.TRUSTED_PROXIES = ranges("127.0.0.1")
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "signup": "2/min"})
    body = {"email": "x", "password": "y", "display_name": "z"}

    def sign_up(address: str) -> int:
        return client.post(
            "/api/auth/signup", body, content_type="application/json", HTTP_X_FORWARDED_FOR=address
        ).status_code

    first = [sign_up("10.0.0.1") for _ in range(3)]
    other = sign_up("10.0.0.2")

    assert first == [400, 400, 429]
    assert other == 400  # another school laptop behind the same proxy has its own allowance


def test_only_a_trusted_proxy_may_say_the_request_came_over_https(rf, settings):
    from common.network import ClientAddressMiddleware

    settings.TRUSTED_PROXIES = ranges("10.0.0.1")
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    seen = {}

    def view(request):
        seen["secure"] = request.is_secure()
        return None

    middleware = ClientAddressMiddleware(view)
    middleware(rf.get("/", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="203.0.113.5"))
    assert seen["secure"] is False
    middleware(rf.get("/", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="10.0.0.1"))
    assert seen["secure"] is True


def test_from_a_proxy_that_appends_only_its_own_proto_counts(rf, settings):
    from common.network import ClientAddressMiddleware

    settings.TRUSTED_PROXIES = ranges("10.0.0.1")
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    seen = {}

    def view(request):
        seen["secure"] = request.is_secure()

    ClientAddressMiddleware(view)(rf.get("/", HTTP_X_FORWARDED_PROTO="https, http", REMOTE_ADDR="10.0.0.1"))
    assert seen["secure"] is False  # the client claimed https; the proxy saw http


def test_a_socket_reads_every_forwarded_header_as_http_does(venue):
    venue.TRUSTED_PROXIES = ranges("127.0.0.1")
    # Our proxy's header first, a second copy sent by the client after it: the chain joins both.
    headers = [(b"x-forwarded-for", b"8.8.8.8"), (b"x-forwarded-for", b"10.1.2.3")]

    assert socket_close_code(("127.0.0.1", 5000), headers=headers) is None  # the last hop, as for HTTP

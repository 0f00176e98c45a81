import hashlib
import hmac

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from common.problems import problem_response
from common.views import bad_request, forbidden


class RejectNulMiddleware:
    """Refuse a NUL character in the query string: PostgreSQL cannot compare text with one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if any("\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists()):
            if request.path.startswith("/api/"):
                return problem_response(
                    request, status=400, code="validation_error", detail="The query string contains a NUL character."
                )
            return bad_request(request)
        return self.get_response(request)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with this host's WebSocket added to connect-src.

    CSP Level 3 lets 'self' match ws: and wss: on the page's own host, but browsers from before
    that change (Safari before 16, which school iPads still run) refuse /api/ws under
    `connect-src 'self'`. The host is the one the browser asked for, already checked against
    ALLOWED_HOSTS; both schemes are named because behind a TLS proxy without
    SECURE_PROXY_SSL_HEADER the server cannot tell which one the page used (and an https page may
    not open ws: anyway: mixed content).
    """

    def get_policy_parts(self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False):
        parts = super().get_policy_parts(request, response, report_only)
        try:
            host = request.get_host()
        except DisallowedHost:
            return parts  # the 400 answer to a bad Host header: no socket to allow
        update = dict(parts.update or {})
        update["connect-src"] = [*update.get("connect-src", []), f"ws://{host}", f"wss://{host}"]
        parts.update = update
        return parts


# Where Safe Exam Browser is not asked for: organisers (the admin and its API) use normal browsers,
# OBS shows the overlay, load balancers probe the health check.
SEB_EXEMPT_PREFIXES = ("/admin/", "/api/admin/", "/overlay/")
# The SSE stream also serves teams' sessions: exempt only when OBS opens it with the overlay token.
SEB_OBS_STREAM = "/api/obs/"
SEB_EXEMPT_PATHS = {"/api/health"}
SEB_HEADERS = (
    ("HTTP_X_SAFEEXAMBROWSER_REQUESTHASH", "SEB_BROWSER_EXAM_KEYS"),
    ("HTTP_X_SAFEEXAMBROWSER_CONFIGKEYHASH", "SEB_CONFIG_KEYS"),
)


def seb_request_ok(request: HttpRequest) -> bool:
    """Whether the request carries a Safe Exam Browser hash made with one of our keys.

    SEB sends SHA-256 of the URL it requested followed by its Browser Exam Key (or Config Key),
    so a value copied from another page, or from another browser's request, does not pass.
    """
    url = request.build_absolute_uri()
    for header, setting in SEB_HEADERS:
        sent = request.META.get(header, "").strip().lower().encode("utf-8", "replace")
        if not sent:
            continue
        for key in getattr(settings, setting):
            expected = hashlib.sha256((url + key).encode()).hexdigest().encode()
            if hmac.compare_digest(sent, expected):
                return True
    return False


class SafeExamBrowserMiddleware:
    """With SEB_BROWSER_EXAM_KEYS or SEB_CONFIG_KEYS set, team pages and the API answer only
    requests from Safe Exam Browser with one of those keys. The WebSocket is not checked here (it
    never passes through Django's middleware); a team gets its session only through a checked
    sign-in."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._required(request) and not seb_request_ok(request):
            if request.path_info.startswith("/api/"):
                return problem_response(
                    request, status=403, code="seb_required", detail="Open this event in Safe Exam Browser."
                )
            return forbidden(request, reason="seb")
        return self.get_response(request)

    @staticmethod
    def _required(request: HttpRequest) -> bool:
        if not (settings.SEB_BROWSER_EXAM_KEYS or settings.SEB_CONFIG_KEYS):
            return False
        path = request.path_info
        static = "/" + settings.STATIC_URL.lstrip("/")
        if path.startswith(SEB_OBS_STREAM) and "token" in request.GET:
            return False
        return not (path in SEB_EXEMPT_PATHS or path.startswith((*SEB_EXEMPT_PREFIXES, static)))

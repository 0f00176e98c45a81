"""What the server writes down: one line per request, and one per trade, bell, price change and
import, each carrying the id of the request it belongs to.

In production (DEBUG off, or LOG_FORMAT=json) every record is one JSON object on stdout, for
whatever collects the containers' output. The request id comes from `X-Request-ID` when a proxy
or client sent a usable one, otherwise it is made here; the response carries it back, the problem
body and the error page of a server error show it, and Sentry tags the error with it, so a team's
"it said 500" leads to the one log line and the one traceback.

E-mail addresses never reach the log whole: records name users by id, and a filter masks any
address a library puts in a message (`j***@school.org`). Passwords are never logged, nor the
token of the admin's one-time link to printed logins (its path is logged as `…/credentials/***`).
"""

import contextvars
import logging
import re
import time
import uuid
from typing import Any

import sentry_sdk
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty
from pythonjsonlogger.json import JsonFormatter

from common import metrics

REQUEST_ID_HEADER = "X-Request-ID"
# What a proxy's id looks like (UUIDs, hex, base64url, dotted trace ids); anything else is replaced.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:/+=-]{8,128}")
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

requests_log = logging.getLogger("brainstorm.requests")
activity_log = logging.getLogger("brainstorm.activity")
RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


# A path that is itself a secret: the admin's one-time link to a sheet of printed passwords.
SECRET_IN_PATH = re.compile(r"(/credentials/)[^/?#\s]+")


def mask_email(text: str) -> str:
    """Every e-mail address in `text` reduced to its first letter and its domain."""
    return EMAIL.sub(r"\1***@\2", text)


def mask(text: str) -> str:
    """`text` fit for a log line or an error report: e-mails masked, secrets in paths hidden."""
    return SECRET_IN_PATH.sub(r"\1***", mask_email(text))


def request_id_from(sent: str | None) -> str:
    """The id a proxy or client sent, if it is a sensible one; else a new one."""
    if sent and REQUEST_ID_PATTERN.fullmatch(sent):  # whole: `$` would let a final newline in
        return sent
    return uuid.uuid4().hex


def activity(event: str, message: str, **fields: Any) -> None:
    """One line for a change (`trade`, `bell`, `price`, `import`) once its transaction commits:
    a change that rolls back is not logged as made. Fields are ids and figures, never e-mails."""
    taken = RECORD_ATTRIBUTES.intersection(fields)
    if taken:
        raise ValueError(f"log fields {sorted(taken)} would overwrite the record's own")
    record = {"event": event, **{name: _plain(value) for name, value in fields.items()}}
    transaction.on_commit(lambda: activity_log.info(message, extra=record), robust=True)


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


class RequestContextFilter(logging.Filter):
    """Adds `request_id` to every record, and masks e-mail addresses and secret paths in its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            # Django logs a request's error after the middleware is done: the request has its id.
            record.request_id = _request_id.get() or getattr(getattr(record, "request", None), "request_id", None)
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):  # a bad format string: logging reports it on writing
            return True
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class JsonLogFormatter(JsonFormatter):
    """One JSON object a line: time, level, logger, message, request_id and the record's extras."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")
        super().__init__("{levelname}{name}{message}{request_id}", *args, style="{", **kwargs)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        # Django's request records carry the request, whose text is the path with its query
        # string (an overlay's token): the request id already leads to the request's own line.
        log_data.pop("request", None)
        return {key: mask(value) if isinstance(value, str) else value for key, value in log_data.items()}


def _user_id(request: HttpRequest) -> str | None:
    """The signed-in user's id if the request already looked them up (no query just for the log)."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        if user._wrapped is empty:
            return None
        user = user._wrapped
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return str(user.pk)


def _route(request: HttpRequest) -> str:
    """A label for the URL pattern that answered (its name), never the path itself: the metrics'
    label values must stay few, whatever paths clients send."""
    if getattr(request, "route_name", None):
        return request.route_name  # answered before routing (common.metrics)
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unresolved"  # static files, refusals before routing, unknown paths
    return match.view_name or match.route or "unnamed"


class RequestLogMiddleware:
    """First in the chain: gives the request its id, and on the way out writes the request's line
    and its metrics (count and duration by route)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        token = _request_id.set(request_id)
        started = time.perf_counter()
        # A scope of its own for Sentry (this server's handler is not the one Sentry wraps), so an
        # error's report names this request and nothing of another.
        with sentry_sdk.isolation_scope() as scope:
            scope.set_tag("request_id", request_id)
            try:
                return self._respond(request, request_id, started)
            finally:
                _request_id.reset(token)

    def _respond(self, request: HttpRequest, request_id: str, started: float) -> HttpResponse:
        response = self.get_response(request)  # Django turns a view's exception into a response
        duration = time.perf_counter() - started
        response[REQUEST_ID_HEADER] = request_id
        route = _route(request)
        metrics.request_done(route=route, method=request.method, status=response.status_code, seconds=duration)
        requests_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "user_id": _user_id(request),
                "method": request.method,
                "path": request.path,  # never the query string: an overlay's carries its token
                "route": route,
                "status": response.status_code,
                "duration_ms": round(duration * 1000, 1),
            },
        )
        return response

"""RFC 9457 problem details: the one place where errors become HTTP responses.

Services raise `DomainError` subclasses; DRF raises `APIException`s. Both leave the API as
`application/problem+json` with a stable machine `code`.
"""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

PROBLEM_CONTENT_TYPE = "application/problem+json"


class DomainError(Exception):
    """A business rule said no. Subclasses set `code`, `status` and `title`."""

    code = "domain_error"
    status = 409
    title = "Request refused"

    def __init__(self, detail: str | None = None, *, errors: dict[str, list[str]] | None = None, **extra: Any) -> None:
        self.detail = detail or self.title
        self.errors = errors
        self.extra = extra
        super().__init__(self.detail)

    def as_problem(self) -> dict[str, Any]:
        return problem(
            status=self.status, code=self.code, title=self.title, detail=self.detail, errors=self.errors, **self.extra
        )


class InvalidInput(DomainError):
    """Input that is well-formed but breaks a rule only the service can check (lot size, unknown ticker)."""

    code = "validation_error"
    status = 400
    title = "Bad request"


def problem(
    *, status: int, code: str, title: str, detail: str, errors: dict | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:brainstorm:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return body


def _flatten_errors(detail: Any) -> dict[str, list[str]]:
    """Map field -> list of messages; nested serializer errors get dotted field names."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for field, value in detail.items():
            if isinstance(value, dict):
                for sub, messages in _flatten_errors(value).items():
                    flat[f"{field}.{sub}"] = messages
            elif isinstance(value, list) and value and any(isinstance(v, dict) for v in value):
                for index, item in enumerate(value):
                    for sub, messages in _flatten_errors(item).items():
                        flat[f"{field}.{index}.{sub}"] = messages
            else:
                flat[str(field)] = [str(m) for m in (value if isinstance(value, list) else [value])]
        return flat
    if isinstance(detail, list):
        return {"non_field_errors": [str(m) for m in detail]} if detail else {}
    return {"non_field_errors": [str(detail)]}


_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
    500: "Server error",
    503: "Service unavailable",
}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        set_rollback()
        return Response(exc.as_problem(), status=exc.status, content_type=PROBLEM_CONTENT_TYPE)

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    # DRF sets the headers (WWW-Authenticate, Retry-After) and marks the transaction for rollback.
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return None

    status = response.status_code
    errors = None
    if isinstance(exc, exceptions.ValidationError):
        code = "validation_error"
        errors = _flatten_errors(exc.detail)
        detail = "The request has invalid fields."
        if list(errors) == ["non_field_errors"]:
            detail = errors["non_field_errors"][0]
    else:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        detail = str(exc.detail)
    response.data = problem(status=status, code=code, title=_TITLES.get(status, "Error"), detail=detail, errors=errors)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def problem_response(request: HttpRequest, *, status: int, code: str, detail: str, **extra: Any) -> JsonResponse:
    """A problem for errors raised outside DRF views (unknown URL, server error)."""
    body = problem(status=status, code=code, title=_TITLES.get(status, "Error"), detail=detail, **extra)
    return JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)

"""Error pages: problem details under /api/, the normal pages elsewhere."""

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.views import defaults

from common.problems import problem_response


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    if _is_api(request):
        return problem_response(request, status=404, code="not_found", detail="Nothing is here.")
    return defaults.page_not_found(request, exception)


def server_error(request):
    # The request id leads the organisers from what the team saw to the log line and the report.
    request_id = getattr(request, "request_id", None)
    if _is_api(request):
        return problem_response(
            request, status=500, code="server_error", detail="Something went wrong on our side.", request_id=request_id
        )
    # Without the request's context, as Django's own: whatever failed may fail again in a context processor.
    return HttpResponseServerError(loader.get_template("500.html").render({"request_id": request_id}))


def bad_request(request, exception=None):
    if _is_api(request) and isinstance(exception, RequestDataTooBig):
        return problem_response(request, status=413, code="request_too_large", detail="The request body is too large.")
    if _is_api(request):
        return problem_response(request, status=400, code="bad_request", detail="The request could not be understood.")
    return defaults.bad_request(request, exception)


# Why a page is refused, as the 403 page explains it.
FORBIDDEN_REASONS = {"role", "network", "csrf", "seb"}
# Refusals of the whole site, not of one page: drawn without the team's bar and its script, which
# would call the API, be refused too, and send the team to sign in again, and again.
SITE_REFUSALS = {"network", "seb"}


def forbidden(request, *, reason: str = ""):
    """The 403 page: `role` (a team page for an organiser, say), `network` (a blocked address),
    `csrf` (a form sent without its token: an old page, or another site posting) or `seb` (not
    Safe Exam Browser, while the event asks for it)."""
    context = {"reason": reason if reason in FORBIDDEN_REASONS else ""}
    if reason in SITE_REFUSALS:
        context["team"] = None
    return render(request, "403.html", context, status=403)


def permission_denied(request, exception=None):
    if _is_api(request):
        return problem_response(request, status=403, code="permission_denied", detail="You may not do this.")
    return forbidden(request, reason=str(exception or ""))


def csrf_failure(request, reason: str = ""):
    """CSRF_FAILURE_VIEW: a form sent without a valid token, most often a page left open across a
    sign-in elsewhere. The API answers with a problem (DRF checks its own session writes)."""
    if _is_api(request):
        return problem_response(
            request, status=403, code="permission_denied", detail="CSRF check failed: reload the page and retry."
        )
    return forbidden(request, reason="csrf")

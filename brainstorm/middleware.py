from django.http import HttpRequest, HttpResponse

from brainstorm.problems import problem_response
from brainstorm.views import bad_request


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

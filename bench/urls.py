"""The product's URLs and one more: `/bench/ping`, the baseline (same server, same middleware, no work)."""

from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from brainstorm.urls import handler400, handler403, handler404, handler500  # noqa: F401


@csrf_exempt
def ping(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/ping", ping), path("", include("brainstorm.urls"))]

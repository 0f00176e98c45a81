"""The product's URLs and two more: `/bench/ping`, the baseline (same server, same middleware, no
work), and `/bench/heap`, what the server process holds (after a full collection)."""

import gc
from collections import Counter

from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from brainstorm.urls import handler400, handler403, handler404, handler500  # noqa: F401
from overlay import events


@csrf_exempt
def ping(request):
    return JsonResponse({"ok": True})


def heap(request):
    gc.collect()
    objects = gc.get_objects()
    kinds = Counter(type(item).__qualname__ for item in objects)
    return JsonResponse(
        {
            "tracked": len(objects),
            "frozen": gc.get_freeze_count(),
            "kinds": dict(kinds.most_common(12)),
            "outbox": events._outbox.qsize() if events._outbox is not None else 0,  # events not yet sent
        }
    )


urlpatterns = [path("bench/ping", ping), path("bench/heap", heap), path("", include("brainstorm.urls"))]

"""The product's URLs and a few more: `/bench/ping`, the baseline (same server, same middleware, no
work); `/bench/api`, `/bench/validated` and `/bench/allowance`, the trade request's layers without
the trade (the anatomy scenario); and `/bench/heap`, what the server process holds (after a full
collection)."""

import gc
from collections import Counter

from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsParticipant
from brainstorm.urls import handler400, handler403, handler404, handler500  # noqa: F401
from market.serializers import TradeRequestSerializer
from market.throttles import TradeThrottle
from overlay import events


@csrf_exempt
def ping(request):
    return JsonResponse({"ok": True})


class Layers(APIView):
    """What `POST /api/transactions` does before the trade, one layer more per option: DRF with the
    product's authentication, permission, parser and renderer; the order validated as a trade's
    (`validated`, the ticker looked up); the team's trade allowance (`allowance`). It answers as
    the trade does (201), with no trade."""

    permission_classes = [IsParticipant]
    validated = False
    allowance = False

    def get_throttles(self):
        return [TradeThrottle()] if self.allowance else []

    def post(self, request):
        if self.validated:
            TradeRequestSerializer(data=request.data).is_valid(raise_exception=True)
        return Response({"ok": True}, status=201)


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


urlpatterns = [
    path("bench/ping", ping),
    path("bench/api", Layers.as_view()),
    path("bench/validated", Layers.as_view(validated=True)),
    path("bench/allowance", Layers.as_view(validated=True, allowance=True)),
    path("bench/heap", heap),
    path("", include("brainstorm.urls")),
]

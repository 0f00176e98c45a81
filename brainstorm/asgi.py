"""ASGI entry point: HTTP (and SSE) through Django, WebSocket through Channels."""

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brainstorm.settings")

# Set Django up first: the app registry must be ready for the imports below.
django.setup(set_prefix=False)

from brainstorm.handlers import ASGIHandler  # noqa: E402

django_asgi_app = ASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import get_resolver  # noqa: E402

from common.network import NetworkGuard  # noqa: E402
from overlay.delivery import KeepServerSend  # noqa: E402
from overlay.routing import websocket_urlpatterns  # noqa: E402

# KeepServerSend: live connections (WebSocket, SSE) see how much their client has yet to take.
application = KeepServerSend(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            # The consumer checks Origin itself: overlays connect by token from anywhere (OBS),
            # browser sessions only from our own pages. NetworkGuard keeps out whoever is outside the
            # venue's ranges (ALLOWED_CIDR): a socket never passes through Django's middleware.
            "websocket": NetworkGuard(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        }
    )
)

# Ready before the first request, not during it: Django imports the URL configuration (and with
# it every view module) when the first request arrives, and that request waits for it.
_ = get_resolver().url_patterns

# What start-up made lives as long as the process. Out of the collector's sight it is not walked
# by every full collection, which with a thousand sockets open paused the server noticeably
# (docs/performance.md). Collected first, so nothing dead is kept.
gc.collect()
gc.freeze()

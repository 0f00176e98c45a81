"""ASGI entry point: HTTP (and SSE) through Django, WebSocket through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brainstorm.settings")

# Build the Django app first: it sets up the app registry that the routing imports need.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from brainstorm.network import NetworkGuard  # noqa: E402
from overlay.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # The consumer checks Origin itself: overlays connect by token from anywhere (OBS),
        # browser sessions only from our own pages. NetworkGuard keeps out whoever is outside the
        # venue's ranges (ALLOWED_CIDR): a socket never passes through Django's middleware.
        "websocket": NetworkGuard(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

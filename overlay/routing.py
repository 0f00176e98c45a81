from django.urls import path

from overlay.consumers import MarketConsumer

websocket_urlpatterns = [path("api/ws", MarketConsumer.as_asgi())]

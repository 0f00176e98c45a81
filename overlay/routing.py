"""WebSocket routes. The live-event consumer at /api/ws lands with the real-time work."""

websocket_urlpatterns: list = []

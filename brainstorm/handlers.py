"""Django's ASGI handler, serving each HTTP request in one trip to a worker thread.

Django's own handler starts a thread for every request and moves between the event loop and
that thread several times on the way through: once per middleware that can run either way,
once for the view, once more for each signal. On this product every middleware and view but
the overlay's stream is synchronous, and the trips cost more than a request that does nothing
(docs/performance.md). This handler builds the middleware chain synchronously and runs it,
the view included, in one call on the event loop's thread pool (docs/performance.md). An async
view (the overlay's event stream) still works: the chain calls it on the event loop, and its
stream is sent from there.

The thread that took a database connection gives it back to the pool before the call returns:
with no thread of its own, the request may finish on another thread, and a Django connection
may only be closed by the thread that opened it.
"""

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler as DjangoASGIHandler
from django.core.handlers.base import BaseHandler
from django.db import close_old_connections
from django.http import FileResponse

from overlay.events import remember_server_loop


class ASGIHandler(DjangoASGIHandler):
    def __init__(self):
        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        remember_server_loop()  # live events leave from this loop, the request never waits for them
        # No ThreadSensitiveContext (a new thread per request): the request runs in one call.
        await self.handle(scope, receive, send)

    async def run_get_response(self, request):
        response = await sync_to_async(self._get_response_in_thread, thread_sensitive=False)(request)
        response._handler_class = self.__class__
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        return response

    def _get_response_in_thread(self, request):
        try:
            return self.get_response(request)
        finally:
            close_old_connections()

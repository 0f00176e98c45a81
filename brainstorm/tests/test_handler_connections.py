"""The ASGI handler runs each request in one trip to a worker thread; that thread gives its
database connection back to the pool before the request ends, so connections do not pile up in
idle worker threads until the pool runs dry (brainstorm/handlers.py)."""

import pytest
from asgiref.testing import ApplicationCommunicator
from django.db import connections

from brainstorm.asgi import application
from overlay.tests.conftest import run

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def request_scope(path: str) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


def checked_out() -> int:
    stats = connections["default"].pool.get_stats()
    return stats["pool_size"] - stats["pool_available"]


def test_requests_give_their_database_connection_back_to_the_pool():
    async def one_request() -> int:
        server = ApplicationCommunicator(application, request_scope("/api/health"))
        await server.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await server.receive_output(timeout=5)
        await server.receive_output(timeout=5)  # the body
        await server.wait(timeout=5)
        return start["status"]

    async def scenario() -> list[int]:
        # More requests than the handler's worker threads, one after another: each thread has
        # run a request that read the database.
        return [await one_request() for _ in range(40)]

    connections.close_all()  # this thread's own connection back too: only the requests' count
    assert checked_out() == 0
    statuses = run(scenario)
    assert statuses == [200] * 40
    assert checked_out() == 0

from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client

from brainstorm.asgi import application

TOKEN = "test-overlay-token"  # settings_test sets OVERLAY_TOKEN to this


def session_headers(user, origin: str = "http://testserver") -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    headers = [(b"cookie", cookie.encode())]
    if origin:
        headers.append((b"origin", origin.encode()))
    return headers


def socket(path: str = f"/api/ws?token={TOKEN}", headers=None) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=headers or [])


def run(scenario):
    """Run an async scenario from a sync test: database calls come back to this thread and its transaction."""
    return async_to_sync(scenario)()


async def connected(path: str = f"/api/ws?token={TOKEN}", headers=None):
    """An open socket that has received its snapshot."""
    ws = socket(path, headers)
    ok, _ = await ws.connect()
    assert ok
    assert (await ws.receive_json_from(timeout=3))["type"] == "snapshot"
    return ws


async def closed_with(ws, timeout: float = 2.0):
    """The close code if the server closed the socket, else None."""
    while True:
        if await ws.receive_nothing(timeout=timeout):
            return None
        message = await ws.receive_output()
        if message["type"] == "websocket.close":
            return message.get("code")


async def group_size(layer, group: str) -> int:
    """How many channels are in a group on the channel layer (in memory or Redis)."""
    if hasattr(layer, "groups"):  # in-memory layer
        return len(layer.groups.get(group, {}))
    connection = layer.connection(layer.consistent_hash(group))  # Redis: the group is a sorted set
    return await connection.zcard(layer._group_key(group))

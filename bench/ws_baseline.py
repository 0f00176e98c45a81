"""The fan-out baseline: the least a broadcast server can do, written with the `websockets` library.

Clients connect to `/`; whatever arrives on `/publish` is sent to every one of them at once.
"""

import argparse
import asyncio

import websockets

clients: set = set()


async def handler(connection) -> None:
    if connection.request.path == "/publish":
        async for message in connection:
            websockets.broadcast(clients, message)
        return
    clients.add(connection)
    try:
        await connection.wait_closed()
    finally:
        clients.discard(connection)


async def main(port: int) -> None:
    async with websockets.serve(handler, "127.0.0.1", port, max_queue=None):
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))

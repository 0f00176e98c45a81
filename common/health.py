"""Liveness of the parts the product cannot run without: the database and the channel layer."""

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers, get_channel_layer
from django.db import DatabaseError, connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

logger = logging.getLogger(__name__)

CHANNEL_LAYER_TIMEOUT = 2.0


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError:
        logger.exception("health: database unreachable")
        return False


async def _channel_layer_round_trip() -> bool:
    if get_channel_layer() is None:
        return False
    # A layer of its own, with its own connections: channels_redis lets one receive at a time run
    # per layer object, and the process's live-event reader holds that turn while it waits on
    # Redis (up to 5 s in a quiet market). On the shared layer the check timed out whenever the
    # server had a socket open: healthy servers answered 503.
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    try:
        channel = await layer.new_channel("health.")
        await layer.send(channel, {"type": "health.ping"})
        message = await layer.receive(channel)
        return message.get("type") == "health.ping"
    finally:
        close = getattr(layer, "close_pools", None)  # channels_redis: its connections
        if close is not None:
            await close()


async def _channel_layer_ok() -> bool:
    try:
        async with asyncio.timeout(CHANNEL_LAYER_TIMEOUT):
            return await _channel_layer_round_trip()
    except Exception:  # any failure of the layer (connection refused, timeout) means "down"
        logger.exception("health: channel layer unreachable")
        return False


def channel_layer_ok() -> bool:
    return async_to_sync(_channel_layer_ok)()


class HealthView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        responses={
            (200, "application/json"): inline_serializer(
                "Health",
                {
                    "status": serializers.CharField(),
                    "database": serializers.CharField(),
                    "channel_layer": serializers.CharField(),
                },
            ),
        },
        tags=["health"],
    )
    def get(self, request):
        parts = {
            "database": "ok" if database_ok() else "down",
            "channel_layer": "ok" if channel_layer_ok() else "down",
        }
        healthy = all(state == "ok" for state in parts.values())
        return Response({"status": "ok" if healthy else "down", **parts}, status=200 if healthy else 503)

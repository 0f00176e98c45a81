from rest_framework import viewsets
from rest_framework.response import Response

from accounts.permissions import IsParticipantOrAdmin
from common.read_cache import page_key, read_cached
from newsroom.models import News
from newsroom.selectors import feed_seconds
from newsroom.serializers import NewsSerializer


class NewsViewSet(viewsets.ReadOnlyModelViewSet):
    """Published news, newest first. Scheduled items stay invisible until their time."""

    permission_classes = [IsParticipantOrAdmin]
    serializer_class = NewsSerializer

    def get_queryset(self):
        return News.objects.feed()

    def list(self, request, *args, **kwargs):
        key = page_key(request)
        if key is None:
            return super().list(request, *args, **kwargs)
        build = lambda: super(NewsViewSet, self).list(request).data  # noqa: E731
        return Response(read_cached("news", key, build, seconds=feed_seconds))

from rest_framework import viewsets
from rest_framework.response import Response

from accounts.permissions import IsAdmin, IsParticipantOrAdmin
from common.read_cache import page_key, read_cached
from newsroom.models import News
from newsroom.selectors import feed_seconds
from newsroom.serializers import AdminNewsSerializer, NewsSerializer
from newsroom.services import news_create, news_delete, news_update


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


class AdminNewsViewSet(viewsets.ModelViewSet):
    permission_classes = [IsAdmin]
    serializer_class = AdminNewsSerializer
    queryset = News.objects.order_by("-created_at")

    def perform_create(self, serializer):
        serializer.instance = news_create(by=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = news_update(news=serializer.instance, by=self.request.user, **serializer.validated_data)

    def perform_destroy(self, instance):
        news_delete(news=instance, by=self.request.user)

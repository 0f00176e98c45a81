from rest_framework import serializers

from common.serializers import StrictSerializer
from newsroom.models import News


class NewsSerializer(serializers.ModelSerializer):
    class Meta:
        model = News
        fields = ["id", "title", "content", "published_at"]
        read_only_fields = fields


class AdminNewsSerializer(StrictSerializer, serializers.ModelSerializer):
    title = serializers.CharField(max_length=300)
    content = serializers.CharField(max_length=20_000)
    published_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Empty: draft. In the future: scheduled."
    )
    status = serializers.CharField(read_only=True)

    class Meta:
        model = News
        fields = ["id", "title", "content", "published_at", "status", "created_at", "updated_at"]
        read_only_fields = ["id", "status", "created_at", "updated_at"]

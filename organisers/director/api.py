"""The director's API (SPEC §8): GET and POST `/api/admin/scene`."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from common.serializers import StrictSerializer
from organisers.director import live, services
from organisers.director.scenes import SCENES


class SceneSerializer(serializers.Serializer):
    """The answer's shape, for the schema: the answer is the `scene` event's data, to the letter."""

    scene = serializers.ChoiceField(choices=SCENES)
    options = serializers.DictField()
    taken_at = serializers.DateTimeField(allow_null=True)
    data = serializers.DictField(help_text="What the full-scene overlay draws (see the README's Director).")


class SceneTakeSerializer(StrictSerializer):
    # Checked by the director itself (organisers.director.scenes.clean): one message for every way in.
    scene = serializers.JSONField(help_text=f"One of {', '.join(SCENES)}.")
    options = serializers.JSONField(required=False, help_text='E.g. {"top": 5}, {"revealed": 1}.')


class SceneView(APIView):
    """The scene on the stream's full-scene page, and taking another."""

    permission_classes = [IsAdmin]

    @extend_schema(responses=SceneSerializer, tags=["admin"])
    def get(self, request):
        return Response(live.current())

    @extend_schema(request=SceneTakeSerializer, responses=SceneSerializer, tags=["admin"])
    def post(self, request):
        form = SceneTakeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        taken = services.scene_take(
            by=request.user, scene=form.validated_data["scene"], options=form.validated_data.get("options")
        )
        return Response(live.of(taken))

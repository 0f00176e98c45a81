"""The run sheet's API (SPEC §6b): cues listed, written, fired and skipped; the sheet held, resumed
and its last price cue undone. Each view validates, calls one service, answers with the cue or the
sheet as every screen shows it (organisers.runsheet.live)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from common.serializers import StrictIntegerField, StrictSerializer
from organisers.models import Cue, CueAction, CueStatus, RunSheet
from organisers.runsheet import live, services
from organisers.runsheet.rules import DATA_FIELDS, MAX_DAY


class CueSerializer(serializers.Serializer):
    """A cue as the API answers it (SPEC §6b)."""

    id = serializers.UUIDField()
    day = serializers.IntegerField()
    at = serializers.CharField(help_text="As written: 2026-12-08 09:20, 09:20, or +00:45:00.")
    due_at = serializers.DateTimeField(
        allow_null=True, help_text="When it fires, after any hold; null: its bell has not rung."
    )
    action = serializers.ChoiceField(choices=CueAction.choices)
    data = serializers.DictField(help_text="title, content, ticker, price, change_pct, scene, options, text.")
    status = serializers.ChoiceField(choices=CueStatus.choices)
    fired_at = serializers.DateTimeField(allow_null=True)
    late_by = serializers.CharField(help_text="HH:MM:SS it fired after its time (the scheduler), empty if on time.")
    shifted_by = serializers.CharField(help_text="HH:MM:SS the run sheet was held before it.")
    reason = serializers.CharField()
    result = serializers.DictField()
    undone_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: Cue) -> dict:
        data = live.cue_data(instance)
        data.pop("expected_at")
        return super().to_representation(data)


class CueWriteSerializer(StrictSerializer):
    day = StrictIntegerField(min_value=1, max_value=MAX_DAY)
    at = serializers.CharField(max_length=32, help_text="2026-12-08 09:20 (event time), 09:20, or +00:45:00.")
    action = serializers.ChoiceField(choices=CueAction.choices)
    data = serializers.DictField(required=False, help_text="The action's fields.")

    def validate_data(self, value: dict) -> dict:
        unknown = sorted(set(value) - set(DATA_FIELDS))
        if unknown:
            raise ValidationError(f"Unknown field {', '.join(unknown)}: a cue's data holds {', '.join(DATA_FIELDS)}.")
        return value

    def raw(self) -> dict:
        values = dict(self.validated_data)
        return {**{name: value for name, value in values.items() if name != "data"}, **values.get("data", {})}


class CueFilterSerializer(StrictSerializer):
    day = serializers.IntegerField(min_value=1, max_value=MAX_DAY, required=False)
    status = serializers.ChoiceField(choices=CueStatus.choices, required=False)
    page = serializers.IntegerField(min_value=1, required=False)


class CueSkipSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class UndoSerializer(StrictSerializer):
    cue = serializers.UUIDField(
        required=False, help_text="The price cue you mean to undo: refused if it is no longer the last."
    )


class RunSheetSerializer(serializers.Serializer):
    held = serializers.BooleanField()
    held_since = serializers.DateTimeField(allow_null=True)
    shifted_by = serializers.IntegerField(help_text="Seconds held in all (each resume adds its hold).")

    def to_representation(self, instance: RunSheet) -> dict:
        return super().to_representation(live.sheet_data(instance))


@extend_schema_view(
    list=extend_schema(parameters=[CueFilterSerializer], tags=["admin"]),
    retrieve=extend_schema(tags=["admin"]),
    create=extend_schema(request=CueWriteSerializer, responses={201: CueSerializer}, tags=["admin"]),
    partial_update=extend_schema(request=CueWriteSerializer, responses=CueSerializer, tags=["admin"]),
    destroy=extend_schema(tags=["admin"]),
)
class CueViewSet(viewsets.GenericViewSet):
    """The run sheet's cues, by day then time. A cue no longer planned cannot change: 409 `cue_fired`."""

    permission_classes = [IsAdmin]
    serializer_class = CueSerializer
    queryset = Cue.objects.all()
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def list(self, request):
        params = {key: value for key, value in request.query_params.items() if value != ""}
        filters = CueFilterSerializer(data=params)
        filters.is_valid(raise_exception=True)
        cues = Cue.objects.all()
        if "day" in filters.validated_data:
            cues = cues.filter(day=filters.validated_data["day"])
        if "status" in filters.validated_data:
            cues = cues.filter(status=filters.validated_data["status"])
        by_id = {str(cue.pk): cue for cue in cues}
        rows = [by_id[row["id"]] for row in live.ordered(list(by_id.values()))]
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(CueSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(CueSerializer(self.get_object()).data)

    def create(self, request):
        form = CueWriteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        cue = services.cue_create(by=request.user, raw=form.raw())
        return Response(CueSerializer(cue).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        form = CueWriteSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        cue = services.cue_update(cue=self.get_object(), by=request.user, changes=form.raw())
        return Response(CueSerializer(cue).data)

    def destroy(self, request, pk=None):
        services.cue_delete(cue=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=CueSerializer, tags=["admin"])
    @action(detail=True, methods=["post"])
    def fire(self, request, pk=None):
        """Fire now, whatever its time and even while the run sheet is held."""
        return Response(CueSerializer(services.cue_fire(cue=self.get_object(), by=request.user)).data)

    @extend_schema(request=CueSkipSerializer, responses=CueSerializer, tags=["admin"])
    @action(detail=True, methods=["post"])
    def skip(self, request, pk=None):
        form = CueSkipSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        cue = services.cue_skip(cue=self.get_object(), by=request.user, reason=form.validated_data.get("reason", ""))
        return Response(CueSerializer(cue).data)


class RunSheetView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=RunSheetSerializer, tags=["admin"])
    def get(self, request):
        return Response(RunSheetSerializer(RunSheet.load()).data)


class RunSheetHoldView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses=RunSheetSerializer, tags=["admin"])
    def post(self, request):
        """Pause: no cue fires by itself until resumed."""
        return Response(RunSheetSerializer(services.run_sheet_hold(by=request.user)).data)


class RunSheetResumeView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses=RunSheetSerializer, tags=["admin"])
    def post(self, request):
        """Go on: every cue still to come moves later by the time held."""
        return Response(RunSheetSerializer(services.run_sheet_resume(by=request.user)).data)


class RunSheetUndoView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=UndoSerializer, responses={200: CueSerializer, 409: OpenApiTypes.OBJECT}, tags=["admin"])
    def post(self, request):
        """Put back the price the last fired price cue changed (`cue`: only if that one is still the
        last); 409 `nothing_to_undo`."""
        form = UndoSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        cue = services.price_cue_undo(by=request.user, expected=form.validated_data.get("cue"))
        return Response(CueSerializer(cue).data)

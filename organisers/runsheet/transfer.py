"""The run sheet's spreadsheets over the API (SPEC §6b): import (all-or-nothing, dry run), export
and the template. The work is organisers.runsheet.sheet's; the views check the request and answer."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from common.serializers import StrictSerializer
from organisers.api import ImportRequestSerializer
from organisers.runsheet import sheet
from organisers.spreadsheets import XLSX_CONTENT_TYPE, SpreadsheetRefused


class FormatSerializer(StrictSerializer):
    format = serializers.ChoiceField(choices=sheet.FORMATS, default="xlsx")


FORMAT_PARAMETER = OpenApiParameter(
    "format", str, enum=list(sheet.FORMATS), default="xlsx", description="xlsx (default) or csv."
)
FILE_RESPONSES = {
    (200, XLSX_CONTENT_TYPE): OpenApiTypes.BINARY,
    (200, "text/csv"): OpenApiTypes.BINARY,
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="`validation_error`: a format other than xlsx or csv."),
}


class _Download(APIView):
    permission_classes = [IsAdmin]
    kind = ""

    def perform_content_negotiation(self, request, force=False):
        # The file whatever the client accepts (and `?format=` is ours, not a renderer's); refusals
        # stay problem+json.
        return super().perform_content_negotiation(request, force=True)

    def get(self, request):
        params = {key: value for key, value in request.query_params.items() if value != ""}
        form = FormatSerializer(data=params)
        form.is_valid(raise_exception=True)
        return sheet.download(self.kind, form.validated_data["format"])


class CueExportView(_Download):
    """Every cue, by day then time: the import's columns, then status, due_at, fired_at and reason
    (event time). Imports back as it is: the rows already fired, skipped or failed are passed over."""

    kind = "export"

    @extend_schema(parameters=[FORMAT_PARAMETER], responses=FILE_RESPONSES, tags=["admin"])
    def get(self, request):
        return super().get(request)


class CueTemplateView(_Download):
    """A run sheet to start from: one row of each action, on the next day to open, tomorrow."""

    kind = "template"

    @extend_schema(parameters=[FORMAT_PARAMETER], responses=FILE_RESPONSES, tags=["admin"])
    def get(self, request):
        return super().get(request)


class CueImportView(APIView):
    """Cues from a spreadsheet: every row checked first; one bad row imports nothing (400
    `import_invalid` with the report). The planned cues of the days the file names are replaced by
    its rows; cues fired, skipped or failed stay."""

    permission_classes = [IsAdmin]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request=ImportRequestSerializer,
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="The report: `{dry_run, created, updated (always 0), replaced, passed_over, days, "
                "errors, warnings, timeline: [{row, day, at, due_at, expected_at, action, summary}]}`.",
            ),
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="`import_invalid` (the report, every bad row with its row, column and message) "
                "or `import_unreadable` (not a spreadsheet, empty, too large).",
            ),
        },
        tags=["admin"],
    )
    def post(self, request):
        form = ImportRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise SpreadsheetRefused(f"The file is larger than {settings.IMPORT_MAX_BYTES / 1_000_000:g} MB.")
        report = sheet.run_sheet_import(
            content=upload.read(), filename=upload.name, dry_run=form.validated_data["dry_run"], by=request.user
        )
        return Response(report.as_dict())

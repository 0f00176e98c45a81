"""Jobs in the API (SPEC §6): GET `/api/admin/jobs[/{id}]`, POST `/api/admin/jobs` (the results
workbook), and a finished job's file: the results workbook, or an import's logins sheet (once)."""

from datetime import timedelta

from django.db.models.functions import Length
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from common.serializers import StrictSerializer
from organisers.jobs.progress import jobs_recover
from organisers.jobs.services import job_start
from organisers.models import Job, JobKind, JobStatus
from organisers.results import results_filename
from organisers.spreadsheets import XLSX_CONTENT_TYPE

LOGINS_SECONDS = 30 * 60  # an import's logins sheet waits this long for its one download


def job_data(job: Job) -> dict:
    """`{id, kind, status, progress, started_at, finished_at, result, error}` (SPEC §6) and what an
    organiser's page shows: the stage in words, who started it, where its file downloads."""
    download = None
    has_file = job.file_bytes if hasattr(job, "file_bytes") else len(job.output)
    if job.status == JobStatus.DONE and has_file:
        download = reverse("admin-job-download", args=[job.pk])
    return {
        "id": str(job.pk),
        "kind": job.kind,
        "status": job.status,
        "progress": job.progress,
        "stage": job.stage,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "started_by": job.started_by.email if job.started_by else None,
        "filename": job.filename,
        "result": job.result,
        "error": job.error,
        "url": reverse("admin-job", args=[job.pk]),
        "download": download,
    }


def _light(jobs):
    """Jobs without their files (a page polling a finished workbook's job reads its size only)."""
    return jobs.defer("content", "output").annotate(file_bytes=Length("output"))


def accepted(job: Job) -> Response:
    """202 with the job and a Location header pointing at it."""
    response = Response({"job": job_data(job)}, status=status.HTTP_202_ACCEPTED)
    response["Location"] = reverse("admin-job", args=[job.pk])
    return response


class JobStartSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=[JobKind.RESULTS], help_text="results: the results workbook.")


class JobsView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, tags=["admin"], operation_id="admin_jobs_list")
    def get(self, request):
        """The 50 latest jobs, newest first: who started what, when, and how it ended."""
        jobs_recover()
        jobs = _light(Job.objects.select_related("started_by"))[:50]
        return Response({"results": [job_data(job) for job in jobs]})

    @extend_schema(request=JobStartSerializer, responses={202: OpenApiTypes.OBJECT}, tags=["admin"])
    def post(self, request):
        """Build the results workbook in the background: 202 with the job (409 `job_running` while one runs)."""
        form = JobStartSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return accepted(job_start(kind=form.validated_data["kind"], by=request.user))


class JobView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, tags=["admin"], operation_id="admin_jobs_retrieve")
    def get(self, request, pk):
        jobs_recover()
        job = _light(Job.objects.select_related("started_by")).filter(pk=pk).first()
        if job is None:
            raise NotFound("No job has this id.")
        return Response(job_data(job))


class JobDownloadView(APIView):
    """A finished job's file: the results workbook, or the logins sheet an import made (once, within
    30 minutes: then it is gone from the server)."""

    permission_classes = [IsAdmin]

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(responses={(200, XLSX_CONTENT_TYPE): OpenApiTypes.BINARY}, tags=["admin"])
    def get(self, request, pk):
        job = Job.objects.filter(pk=pk, status=JobStatus.DONE).first()
        if job is None or not job.output:
            raise NotFound("This job has no file (not finished, or its logins were downloaded already).")
        if job.kind == JobKind.TEAM_IMPORT:
            if job.finished_at < timezone.now() - timedelta(seconds=LOGINS_SECONDS):
                Job.objects.filter(pk=job.pk).update(output=b"")
                raise NotFound("The logins sheet waited 30 minutes and is gone: set new passwords by import.")
            if not Job.objects.filter(pk=job.pk).exclude(output=b"").update(output=b""):  # once
                raise NotFound("The logins sheet was downloaded already.")
            name = "team-logins.xlsx"
        else:
            name = results_filename(job.finished_at)
        response = HttpResponse(bytes(job.output), content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "no-store"
        return response

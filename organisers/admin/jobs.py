"""The jobs in the admin (SPEC §6): the recent long work (who started what, when, how it ended), a
job's page (its progress bar, kept up to date by control/job.js polling GET /api/admin/jobs/{id}
about once a second, then the report and its file), and the results workbook started as a job.

The worker is another process: nothing live tells a page how far a job is, so the page asks. All
a page shows comes from the job's row, so it can be closed and opened again."""

from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme

from organisers.admin.base import ReadOnlyAdmin
from organisers.jobs.api import LOGINS_SECONDS, job_data
from organisers.jobs.progress import jobs_recover
from organisers.jobs.services import JobRunning, job_start
from organisers.models import Job, JobKind, JobStatus

ENDED = {JobStatus.DONE, JobStatus.FAILED}


def job_page(job_id) -> str:
    return reverse("admin:organisers_job_change", args=[job_id])


def job_start_page(request: HttpRequest, *, kind: str, back: str, content: bytes = b"", filename: str = ""):
    """Start a job and send the organiser to its page; while one of its kind is queued or running,
    back to `back` with why, and a link to the one running."""
    try:
        job = job_start(kind=kind, by=request.user, content=content, filename=filename)
    except JobRunning as refusal:
        running = refusal.extra.get("job")
        if running:
            messages.error(request, format_html('{} <a href="{}">Open it</a>.', refusal.detail, job_page(running)))
        else:
            messages.error(request, refusal.detail)
        return HttpResponseRedirect(back)
    return HttpResponseRedirect(job_page(job.pk))


def stage(job: Job) -> str:
    """What it is doing, in words (control/job.js says the same while it runs)."""
    if job.status == JobStatus.QUEUED:
        return "Waiting for a worker to take it."
    if job.status == JobStatus.FAILED:
        return f"Failed at {job.progress}%."
    return job.stage or job.get_status_display()


def outcome(job: Job) -> str:
    """How it ended (or how far it is), in a few words."""
    result = job.result or {}
    if job.status == JobStatus.FAILED:
        return job.error or "Failed."
    if job.status == JobStatus.QUEUED:
        return "Waiting for a worker."
    if job.status == JobStatus.RUNNING:
        return job.stage or "Running."
    if job.kind == JobKind.TEAM_IMPORT:
        logins = result.get("credentials", 0)
        return f"{result.get('created', 0):,} new, {result.get('updated', 0):,} updated teams, {logins:,} logins set."
    return f"Workbook of {result.get('bytes', 0) / 1000:,.0f} kB."


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ["kind", "started_by", "created_at", "status", "progress_percent", "how_it_ended"]
    list_filter = ["kind", "status"]
    list_select_related = ["started_by"]
    search_fields = ["started_by__email", "filename"]
    ordering = ["-created_at"]
    change_list_template = "admin/organisers/job/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content", "output")  # files: not for a list

    @admin.display(description="progress", ordering="progress")
    def progress_percent(self, job: Job) -> str:
        return f"{job.progress}%"

    @admin.display(description="how it ended")
    def how_it_ended(self, job: Job) -> str:
        return outcome(job)

    def changelist_view(self, request, extra_context=None):
        jobs_recover()  # a job whose worker died shows as failed, with why
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        results = path("results/", self.admin_site.admin_view(self.results_start), name="organisers_job_results")
        return [results, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The job's page: progress, then the report and its file (templates/admin/organisers/job/job.html)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        jobs_recover()
        job = self.get_object(request, unquote(object_id))
        if job is None:
            raise Http404("No job has this id.")
        data = job_data(job)
        result = job.result or {}
        logins = None
        if job.kind == JobKind.TEAM_IMPORT and job.status == JobStatus.DONE and result.get("credentials"):
            if job.finished_at < timezone.now() - timedelta(seconds=LOGINS_SECONDS):
                logins = "expired"  # downloaded or not: gone either way (the API clears it)
            else:
                logins = "ready" if data["download"] else "downloaded"
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{job.get_kind_display()} of {timezone.localtime(job.created_at):%Y-%m-%d %H:%M}",
            "job": data,
            "stage": stage(job),
            "job_object": job,
            "ended": job.status in ENDED,
            "result": result,
            "errors": result.get("errors") or [],
            "logins": logins,
            "size_kb": f"{result.get('bytes', 0) / 1000:,.0f}",
            "logins_minutes": LOGINS_SECONDS // 60,
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/organisers/job/job.html", context)

    def results_start(self, request):
        """The results workbook, built by a worker: the organiser goes to its job's page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            back = reverse("admin:organisers_job_changelist")
        return job_start_page(request, kind=JobKind.RESULTS, back=back)

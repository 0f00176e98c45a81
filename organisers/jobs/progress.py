"""A job telling how far it is, and the jobs whose worker died."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from organisers.models import Job, JobKind, JobStatus

logger = logging.getLogger(__name__)


def job_tell(job: Job, *, progress: int, stage: str) -> None:
    """How far it is, committed at once (the organiser's page reads it while the job goes on)."""
    Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        progress=max(0, min(100, progress)), stage=stage[:200], heartbeat_at=timezone.now()
    )


def jobs_recover() -> int:
    """Running jobs silent for JOB_STALE_SECONDS lost their worker (killed, the machine restarted):
    failed, with why. Nothing of them was kept: an import writes in one transaction at its end,
    and a workbook is kept only when it is whole. Never run again by themselves."""
    stale = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS)
    lost = Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=stale).update(
        status=JobStatus.FAILED,
        finished_at=timezone.now(),
        error=(
            "The worker running it stopped before it finished (killed, or its machine restarted). "
            "Nothing of it was kept: start it again."
        ),
    )
    if lost:
        logger.warning("%s job(s) lost their worker and were marked failed", lost)
    return lost


def jobs_now() -> dict:
    """What /metrics shows of the jobs (common.metrics.report_jobs): a few small queries."""
    now = timezone.now()
    by_status = {status: 0 for status in JobStatus.values}
    day_ago = now - timedelta(days=1)
    recent = Job.objects.filter(Q(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]) | Q(finished_at__gte=day_ago))
    for status, count in recent.values_list("status").annotate(count=Count("pk")).values_list("status", "count"):
        by_status[status] = count
    oldest = Job.objects.filter(status=JobStatus.QUEUED).order_by("created_at").values_list("created_at", flat=True)
    first = oldest.first()
    last_seconds = {}
    for kind in JobKind.values:
        last = (
            Job.objects.filter(kind=kind, finished_at__isnull=False)
            .order_by("-finished_at")
            .values_list("created_at", "finished_at")
            .first()
        )
        if last:
            last_seconds[kind] = (last[1] - last[0]).total_seconds()
    return {
        "by_status": by_status,
        "oldest_queued_seconds": (now - first).total_seconds() if first else 0.0,
        "last_seconds": last_seconds,
    }

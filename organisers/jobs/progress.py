"""A job telling how far it is, and the jobs whose worker died."""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from organisers.models import Job, JobStatus

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

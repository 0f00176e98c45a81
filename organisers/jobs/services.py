"""Starting a job: one of a kind at a time, handed to the workers once committed."""

from django.db import IntegrityError, transaction

from accounts.models import User
from common.problems import DomainError
from market.services import audit
from organisers.jobs.progress import jobs_recover
from organisers.jobs.tasks import run_job
from organisers.models import Job, JobKind, JobStatus


class JobRunning(DomainError):
    code = "job_running"
    title = "Already running"


def job_start(*, kind: str, by: User | None, content: bytes = b"", filename: str = "") -> Job:
    """A queued job, handed to the workers once committed. Refused with JobRunning (409, naming
    the job) while one of its kind is queued or running: a second click starts nothing."""
    jobs_recover()
    try:
        with transaction.atomic():
            job = Job.objects.create(kind=kind, started_by=by, content=content, filename=filename[:255])
            audit(by=by, action="job_start", target=f"job:{job.pk}", kind=kind, filename=filename)
            transaction.on_commit(lambda: run_job.enqueue(str(job.pk)))
    except IntegrityError:
        running = Job.objects.filter(kind=kind, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).first()
        who = f" by {running.started_by.email}" if running and running.started_by else ""
        raise JobRunning(
            f"A {JobKind(kind).label.lower()} is already {running.status if running else 'running'}{who}: "
            "it finishes first (follow it on its page).",
            job=str(running.pk) if running else None,
        ) from None
    return job

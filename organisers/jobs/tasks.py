"""What a worker runs (`manage.py db_worker`): one task, `run_job`, carrying only the job's id.

A job runs once: the worker claims it by moving it from queued to running in one UPDATE, so a
task handed over twice, or a job whose worker died and that is found again, never runs twice.
"""

import logging
import threading

from django.db import DatabaseError, connections, transaction
from django.utils import timezone
from django_tasks import task

from market.models import EventSettings
from organisers.imports import ImportInvalid, participants_import
from organisers.imports.credentials import credentials_workbook
from organisers.jobs.progress import job_tell
from organisers.models import Job, JobKind, JobStatus
from organisers.results import results_workbook
from organisers.spreadsheets import SpreadsheetRefused

logger = logging.getLogger(__name__)


@task()
def run_job(job_id: str) -> str:
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, stage="Starting"
    )
    if not claimed:
        return "not queued: nothing to do"
    job = Job.objects.select_related("started_by").get(pk=job_id)
    alive = threading.Event()
    beating = threading.Thread(target=_heartbeat, args=(job.pk, alive), name=f"job-{job.pk}-heartbeat", daemon=True)
    beating.start()
    try:
        outcome = WORK[job.kind](job)
    except (ImportInvalid, SpreadsheetRefused) as refusal:
        _end(job, JobStatus.FAILED, error=refusal.detail, result=_problem_report(refusal))
        return "refused"
    except Exception:  # the organiser reads why in words; the traceback goes to the log
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        _end(job, JobStatus.FAILED, error="Something went wrong on the server; nothing was kept. Start it again.")
        return "failed"
    finally:
        alive.set()
        beating.join()
    _end(job, JobStatus.DONE, **outcome)
    return "done"


HEARTBEAT_SECONDS = 10


def _heartbeat(job_id, done: threading.Event) -> None:
    """While the job works (a long write, a big workbook, between two progress steps), its row
    says it is alive every few seconds: only a job whose worker died goes silent (jobs_recover)."""
    try:
        while not done.wait(HEARTBEAT_SECONDS):
            try:
                Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(heartbeat_at=timezone.now())
            except DatabaseError:  # SQLite busy with the job's own write: the next beat will do
                logger.info("job %s heartbeat skipped", job_id, exc_info=True)
    finally:
        connections.close_all()  # this thread's own connection


def _team_import(job: Job) -> dict:
    """The team import of SPEC §6, as the direct one: all-or-nothing, one transaction at its end."""
    job_tell(job, progress=5, stage="Checking the rows")

    def hashed(done: int, total: int) -> None:
        if done == total or done % 25 == 0:
            job_tell(job, progress=10 + 80 * done // total, stage=f"Making passwords: {done:,} of {total:,}")

    report = participants_import(content=bytes(job.content), filename=job.filename, by=job.started_by, progress=hashed)
    job_tell(job, progress=95, stage="Rows written")
    credentials = b""
    if report.credentials:
        credentials = credentials_workbook(report, event_name=EventSettings.load().name)
    return {
        "result": {**report.as_dict(), "credentials": len(report.credentials)},
        "output": credentials,
    }


def _results(job: Job) -> dict:
    job_tell(job, progress=10, stage="Writing the workbook")
    workbook = results_workbook()
    return {"result": {"bytes": len(workbook)}, "output": workbook}


WORK = {JobKind.TEAM_IMPORT: _team_import, JobKind.RESULTS: _results}


def _problem_report(refusal) -> dict:
    """The import report a refusal carries (its bad rows), as the direct import answers it."""
    report = {key: value for key, value in refusal.extra.items() if key in ("dry_run", "created", "updated")}
    return {**report, "errors": refusal.errors or []}


def _end(job: Job, status: str, *, result: dict | None = None, output: bytes = b"", error: str = "") -> None:
    done = {"progress": 100, "stage": "Done"} if status == JobStatus.DONE else {"stage": "Failed"}
    with transaction.atomic():
        Job.objects.filter(pk=job.pk).update(
            status=status,
            result=result or {},
            output=output,
            error=error,
            content=b"",  # the uploaded file is not kept once read
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
            **done,
        )

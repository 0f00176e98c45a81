"""Jobs run by real workers (`manage.py db_worker`, as production starts them) on PostgreSQL, with
the product's Argon2: a worker killed (SIGKILL) while it makes the passwords of a 1,000-team import
leaves no team of the file, its job is shown running until it is stale and then failed with why,
a new worker never runs it again, and the same file imported again gives exactly 1,000 teams; two
workers handed the same job at once run it once."""

import csv
import io
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from accounts.models import User
from market.models import Participant
from organisers.jobs.services import job_start
from organisers.jobs.tasks import run_job
from organisers.models import Job
from overlay.tests.servers import ROOT, server_env

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

STALE_SECONDS = 5  # JOB_STALE_SECONDS for these tests: a dead worker's job is failed this soon
DOMAIN = "@jobs.test"


def sheet(count: int) -> bytes:
    """New teams, no passwords: every one generated and hashed with Argon2 by the worker."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["email", "team", "school", "password"])
    for n in range(1, count + 1):
        writer.writerow([f"team{n}{DOMAIN}", f"Team {n:04d}", f"School {n % 7}", ""])
    return out.getvalue().encode()


def teams_of_the_file() -> tuple[int, int]:
    """(teams, sign-ins) with the file's e-mail addresses."""
    return (
        Participant.objects.filter(user__email__endswith=DOMAIN).count(),
        User.objects.filter(email__endswith=DOMAIN).count(),
    )


def hand_overs(job: Job) -> list[DBTaskResult]:
    """The tasks that carried this job to the workers, oldest first."""
    return list(DBTaskResult.objects.filter(args_kwargs__args=[str(job.pk)]).order_by("enqueued_at"))


@contextmanager
def worker(name: str, log_dir: Path, *options: str):
    """`manage.py db_worker` over the test database; SIGTERM at the end if it is still running."""
    log = open(log_dir / f"{name}.log", "wb")  # noqa: SIM115 closed with the process
    command = ["manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.1"]
    process = subprocess.Popen(
        [sys.executable, *command, "--worker-id", name, *options],
        cwd=ROOT,
        env=server_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    process.log = log_dir / f"{name}.log"
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def wait_for(condition, *, seconds: float, processes=(), what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        for process in processes:
            if process.poll() is not None and process.returncode != 0:
                pytest.fail(f"the worker exited ({process.returncode}): {process.log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            logs = "\n".join(process.log.read_text()[-2000:] for process in processes)
            pytest.fail(f"{what}: not within {seconds} s\n{logs}")
        time.sleep(0.05)


def test_a_worker_killed_while_making_passwords_leaves_nothing_and_its_job_never_runs_again(
    admin_api, admin_user, settings, tmp_path
):
    settings.JOB_STALE_SECONDS = STALE_SECONDS  # read by jobs_recover() in GET /api/admin/jobs/{id}
    content = sheet(1000)
    job = job_start(kind="team_import", by=admin_user, content=content, filename="teams.csv")

    with worker("killed", tmp_path) as process:

        def making_passwords():
            return Job.objects.values_list("progress", flat=True).get(pk=job.pk) >= 20

        wait_for(making_passwords, seconds=90, processes=[process], what="passwords under way")
        process.kill()  # SIGKILL: no handler, no clean-up, its connection dropped
        process.wait(5)

    job.refresh_from_db()
    assert (job.status, job.stage[:16]) == ("running", "Making passwords"), job.stage
    assert 20 <= job.progress < 90
    assert teams_of_the_file() == (0, 0)  # nothing half-imported: the write is one transaction at the end
    shown = admin_api.get(f"/api/admin/jobs/{job.pk}").json()
    assert shown["status"] == "running"  # silent for less than JOB_STALE_SECONDS: not yet taken for dead

    time.sleep(max(0.0, job.heartbeat_at.timestamp() + STALE_SECONDS + 0.5 - time.time()))
    shown = admin_api.get(f"/api/admin/jobs/{job.pk}").json()
    assert shown["status"] == "failed", shown
    assert "The worker running it stopped before it finished" in shown["error"]
    assert "Nothing of it was kept: start it again." in shown["error"]
    assert shown["finished_at"] is not None
    assert teams_of_the_file() == (0, 0)

    # The killed worker's task stays claimed (running) in the queue: no worker takes it again. Hand
    # the job over once more anyway, as a queue delivering twice would, and start the same file
    # again as a new job: a new worker runs both tasks and stops when the queue is empty.
    [killed_task] = hand_overs(job)
    assert (killed_task.status, killed_task.worker_ids) == ("RUNNING", ["killed"])
    run_job.enqueue(str(job.pk))
    again = job_start(kind="team_import", by=admin_user, content=content, filename="teams.csv")

    with worker("again", tmp_path, "--batch") as process:
        wait_for(lambda: process.poll() is not None, seconds=150, processes=[process], what="the queue emptied")
    assert process.returncode == 0, process.log.read_text()[-3000:]

    killed_task, handed_again = hand_overs(job)
    assert killed_task.status == "RUNNING"  # never run again
    assert (handed_again.status, handed_again.return_value) == ("SUCCESSFUL", "not queued: nothing to do")
    job.refresh_from_db()
    assert (job.status, job.error) == ("failed", shown["error"])  # the dead job stays as it was shown
    done = admin_api.get(f"/api/admin/jobs/{again.pk}").json()
    assert (done["status"], done["progress"], done["error"]) == ("done", 100, ""), done
    assert (done["result"]["created"], done["result"]["updated"], done["result"]["credentials"]) == (1000, 0, 1000)
    assert teams_of_the_file() == (1000, 1000)  # exactly the file: nothing doubled
    assert Participant.objects.count() == 1000


def test_two_workers_handed_the_same_job_at_once_run_it_once(admin_user, tmp_path):
    with ExitStack() as stack:
        workers = [stack.enter_context(worker(name, tmp_path, "--max-tasks", "1")) for name in ("one", "two")]
        for process in workers:  # both polling the queue before there is anything in it

            def polling(process=process):
                return b"Starting worker" in process.log.read_bytes()

            wait_for(polling, seconds=60, processes=workers, what="the workers started")
        with transaction.atomic():  # both tasks reach the queue in the same commit
            job = job_start(kind="team_import", by=admin_user, content=sheet(300), filename="teams.csv")
            run_job.enqueue(str(job.pk))  # handed over twice, as a queue delivering twice would

        def both_finished():
            return all(process.poll() is not None for process in workers)

        wait_for(both_finished, seconds=120, processes=workers, what="each worker ran a task")

    assert [process.returncode for process in workers] == [0, 0]
    tasks = hand_overs(job)
    assert sorted(task.worker_ids[0] for task in tasks) == ["one", "two"]  # each worker took one
    assert sorted(task.return_value for task in tasks) == ["done", "not queued: nothing to do"]
    job.refresh_from_db()
    assert (job.status, job.result["created"]) == ("done", 300)
    assert teams_of_the_file() == (300, 300)

"""Long work off the request (SPEC §6): a big team import and the results workbook as jobs, with
their progress and result; the same report and logins as the direct import; a bad row found late
imports nothing; one of a kind at a time; a job whose worker died shown failed, never run twice."""

import csv
import io
from datetime import timedelta

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from market.models import Participant
from organisers.imports import participants_import
from organisers.jobs.progress import jobs_recover
from organisers.jobs.services import JobRunning, job_start
from organisers.jobs.tasks import run_job
from organisers.models import Job

pytestmark = pytest.mark.django_db


def sheet(count: int, *, bad_row: int | None = None, password: str = "") -> bytes:
    rows = [["email", "team", "school", "password"]]
    for n in range(1, count + 1):
        email = "not-an-email" if n == bad_row else f"team{n}@school.test"
        rows.append([email, f"Team {n:04d}", f"School {n % 7}", password])
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def upload(content: bytes, name: str = "teams.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


@pytest.fixture
def fast_hashing(settings):
    """Passwords hashed with a fast hasher: the flow is under test here, not Argon2's cost."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_a_big_import_answers_202_with_its_job_and_the_job_imports(admin_api, admin_user, fast_hashing):
    response = admin_api.post("/api/admin/participants/import", {"file": upload(sheet(250))}, format="multipart")

    assert response.status_code == 202
    job = response.json()["job"]
    assert response["Location"] == f"/api/admin/jobs/{job['id']}"
    assert (job["kind"], job["status"], job["progress"]) == ("team_import", "queued", 0)
    assert not Participant.objects.exists()  # nothing yet: the worker does it

    run_job.call(job["id"])

    done = admin_api.get(f"/api/admin/jobs/{job['id']}").json()
    assert (done["status"], done["progress"], done["error"]) == ("done", 100, "")
    assert (done["result"]["created"], done["result"]["credentials"], done["result"]["errors"]) == (250, 250, [])
    assert Participant.objects.count() == 250
    assert done["started_by"] == admin_user.email


def test_a_small_import_still_answers_at_once(admin_api, fast_hashing):
    response = admin_api.post("/api/admin/participants/import", {"file": upload(sheet(20))}, format="multipart")
    assert response.status_code == 200 and response.json()["created"] == 20
    assert not Job.objects.exists()


def test_progress_moves_and_ends_at_100_for_a_thousand_rows(admin_user, fast_hashing, monkeypatch):
    from organisers.jobs import progress

    seen = []
    told = progress.job_tell

    def spy(job, *, progress, stage):
        seen.append((progress, stage))
        told(job, progress=progress, stage=stage)

    monkeypatch.setattr("organisers.jobs.tasks.job_tell", spy)
    job = job_start(kind="team_import", by=admin_user, content=sheet(1000), filename="teams.csv")

    run_job.call(str(job.pk))

    job.refresh_from_db()
    values = [value for value, _stage in seen]
    assert values == sorted(values) and len(set(values)) > 10  # it moves, never back
    assert seen[0] == (5, "Checking the rows")
    assert "Making passwords: 500 of 1,000" in [stage for _value, stage in seen]
    assert (job.status, job.progress, job.stage) == ("done", 100, "Done")


def test_the_job_gives_the_same_report_and_logins_as_the_direct_import(admin_api, admin_user, fast_hashing):
    content = sheet(250, password="given-password-1")
    direct = participants_import(content=content, filename="teams.csv", dry_run=True, by=admin_user)
    job = job_start(kind="team_import", by=admin_user, content=content, filename="teams.csv")

    run_job.call(str(job.pk))

    job.refresh_from_db()
    assert {key: job.result[key] for key in ("created", "updated", "errors", "dry_run")} == {
        "created": direct.created,
        "updated": direct.updated,
        "errors": [],
        "dry_run": False,
    }
    response = admin_api.get(f"/api/admin/jobs/{job.pk}/download")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    rows = list(book.active.iter_rows(values_only=True))
    assert len(rows) == 1 + 250 and {row[3] for row in rows[1:]} == {"given-password-1"}
    again = admin_api.get(f"/api/admin/jobs/{job.pk}/download")
    assert again.status_code == 404  # once
    assert "downloaded already" in again.json()["detail"]


def test_a_bad_row_found_late_imports_nothing_and_the_job_says_which(admin_api, admin_user, fast_hashing):
    job = job_start(kind="team_import", by=admin_user, content=sheet(400, bad_row=399), filename="teams.csv")

    run_job.call(str(job.pk))

    shown = admin_api.get(f"/api/admin/jobs/{job.pk}").json()
    assert shown["status"] == "failed" and "nothing was imported" in shown["error"]
    assert [(error["row"], error["column"]) for error in shown["result"]["errors"]] == [(400, "email")]
    assert not Participant.objects.exists()


def test_a_second_click_while_one_runs_starts_nothing(admin_api, admin_user):
    first = job_start(kind="team_import", by=admin_user, content=sheet(300), filename="teams.csv")

    response = admin_api.post("/api/admin/participants/import", {"file": upload(sheet(300))}, format="multipart")

    assert (response.status_code, response.json()["code"]) == (409, "job_running")
    assert response.json()["job"] == str(first.pk)
    assert Job.objects.count() == 1
    with pytest.raises(JobRunning):
        job_start(kind="team_import", by=admin_user, content=b"x")


def test_a_job_runs_once_however_often_it_is_handed_over(admin_user, fast_hashing):
    job = job_start(kind="team_import", by=admin_user, content=sheet(210), filename="teams.csv")
    assert run_job.call(str(job.pk)) == "done"
    assert run_job.call(str(job.pk)) == "not queued: nothing to do"
    assert Participant.objects.count() == 210


def test_a_job_whose_worker_died_is_shown_failed_and_a_new_one_may_start(admin_api, admin_user, settings):
    job = job_start(kind="team_import", by=admin_user, content=sheet(300), filename="teams.csv")
    stale = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 1)
    Job.objects.filter(pk=job.pk).update(status="running", started_at=stale, heartbeat_at=stale)

    shown = admin_api.get(f"/api/admin/jobs/{job.pk}").json()

    assert shown["status"] == "failed" and "worker running it stopped" in shown["error"]
    assert run_job.call(str(job.pk)) == "not queued: nothing to do"  # never run again by itself
    assert jobs_recover() == 0
    assert job_start(kind="team_import", by=admin_user, content=sheet(1), filename="teams.csv").status == "queued"


def test_the_results_workbook_as_a_job(admin_api, team):
    response = admin_api.post("/api/admin/jobs", {"kind": "results"}, format="json")
    assert response.status_code == 202
    job = response.json()["job"]

    run_job.call(job["id"])

    shown = admin_api.get(f"/api/admin/jobs/{job['id']}").json()
    assert shown["status"] == "done" and shown["download"] == f"/api/admin/jobs/{job['id']}/download"
    book = openpyxl.load_workbook(io.BytesIO(admin_api.get(shown["download"]).content))
    assert book.sheetnames[0] == "Leaderboard"
    assert admin_api.get(shown["download"]).status_code == 200  # a workbook downloads again


def test_jobs_are_listed_newest_first_and_teams_are_refused(admin_api, admin_user, team_api, api):
    job_start(kind="results", by=admin_user)
    listed = admin_api.get("/api/admin/jobs").json()["results"]
    assert [(job["kind"], job["started_by"]) for job in listed] == [("results", admin_user.email)]
    for client, status in ((team_api, 403), (api, 401)):
        assert client.get("/api/admin/jobs").status_code == status
        assert client.post("/api/admin/jobs", {"kind": "results"}, format="json").status_code == status
    assert admin_api.post("/api/admin/jobs", {"kind": "teams"}, format="json").status_code == 400
    assert admin_api.get("/api/admin/jobs/00000000-0000-0000-0000-000000000000").status_code == 404


def test_metrics_show_the_jobs_waiting_and_the_last_ones_duration(admin_user, fast_hashing):
    from brainstorm.tests.test_metrics import scrape, value

    job = job_start(kind="team_import", by=admin_user, content=sheet(210), filename="teams.csv")
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(seconds=90))
    waiting = scrape()
    assert value(waiting, "brainstorm_jobs", status="queued") == 1
    assert value(waiting, "brainstorm_job_oldest_queued_seconds") >= 90  # no worker took it: JobsWaiting

    run_job.call(str(job.pk))

    after = scrape()
    assert (value(after, "brainstorm_jobs", status="queued"), value(after, "brainstorm_jobs", status="done")) == (0, 1)
    assert value(after, "brainstorm_job_oldest_queued_seconds") == 0
    assert value(after, "brainstorm_job_last_duration_seconds", kind="team_import") >= 90


@pytest.mark.django_db(transaction=True)  # the heartbeat writes from its own thread and connection
def test_a_long_job_keeps_saying_it_is_alive_between_its_steps(admin_user, monkeypatch):
    import time

    from organisers.jobs import tasks

    beats = []

    def slow(job):
        first = Job.objects.get(pk=job.pk).heartbeat_at
        time.sleep(0.5)  # a long write: no progress step, only the heartbeat
        beats.append(Job.objects.get(pk=job.pk).heartbeat_at > first)
        return {"result": {}, "output": b""}

    monkeypatch.setattr(tasks, "HEARTBEAT_SECONDS", 0.05)
    monkeypatch.setitem(tasks.WORK, "results", slow)
    job = job_start(kind="results", by=admin_user)

    assert run_job.call(str(job.pk)) == "done"
    assert beats == [True]

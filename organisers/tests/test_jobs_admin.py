"""Jobs in the admin (SPEC §6): the list of recent jobs, a job's page in each state, a big team
import confirmed in the admin going to a worker (and the organiser to its page), a small one as
today, a second one while one runs, the results workbook started as a job; teams kept out."""

import csv
import io
import re
from datetime import timedelta

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from market.models import Participant
from organisers.jobs.services import job_start
from organisers.jobs.tasks import run_job
from organisers.models import Job, JobKind, JobStatus

pytestmark = pytest.mark.django_db

JOBS = "/admin/organisers/job/"
RESULTS = "/admin/organisers/job/results/"
IMPORT = "/admin/market/participant/import/"
CONFIRM = "/admin/market/participant/process_import/"
TEAMS = "/admin/market/participant/"
CSV_FORMAT = "0"  # IMPORT_EXPORT_FORMATS: SafeCSV, SafeXLSX


def sheet(count: int, *, bad_row: int | None = None) -> bytes:
    rows = [["email", "team", "school"]]
    for n in range(1, count + 1):
        email = "not-an-email" if n == bad_row else f"team{n}@school.test"
        rows.append([email, f"Team {n:04d}", f"School {n % 7}"])
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def page(job: Job) -> str:
    return f"{JOBS}{job.pk}/change/"


@pytest.fixture
def organiser(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def fast_hashing(settings):
    """Passwords hashed with a fast hasher: the flow is under test here, not Argon2's cost."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def preview(client: Client, content: bytes, name: str = "teams.csv"):
    upload = SimpleUploadedFile(name, content, content_type="text/csv")
    return client.post(IMPORT, {"format": CSV_FORMAT, "import_file": upload})


def confirm(client: Client, content: bytes, **kwargs):
    shown = preview(client, content)
    assert shown.context["confirm_form"] is not None, shown.content.decode()[-2000:]
    return client.post(CONFIRM, shown.context["confirm_form"].initial, **kwargs)


def messages_of(response) -> list[tuple[str, str]]:
    return [(message.level_tag, str(message)) for message in response.context["messages"]]


def ended(kind: str, status: str, **fields) -> Job:
    now = timezone.now()
    return Job.objects.create(
        kind=kind, status=status, progress=100 if status == "done" else 40, started_at=now, finished_at=now, **fields
    )


# The list


def test_the_list_shows_who_started_what_when_and_how_it_ended_newest_first(organiser, admin_user, make_team):
    other = make_team("Quails").user  # a started_by that is not the organiser looking
    bad = ended(
        JobKind.TEAM_IMPORT,
        JobStatus.FAILED,
        started_by=admin_user,
        error="2 row(s) have errors; nothing was imported.",
        result={"created": 0, "updated": 0, "errors": [{"row": 3, "column": "email", "message": "Bad."}]},
    )
    done = ended(
        JobKind.TEAM_IMPORT,
        JobStatus.DONE,
        started_by=other,
        result={"created": 240, "updated": 10, "errors": [], "credentials": 240},
    )
    workbook = ended(JobKind.RESULTS, JobStatus.DONE, started_by=admin_user, result={"bytes": 52_000})
    running = job_start(kind=JobKind.TEAM_IMPORT, by=admin_user, content=b"x", filename="big.csv")
    Job.objects.filter(pk=running.pk).update(status="running", progress=35, stage="Making passwords: 70 of 250")
    for age, job in enumerate([running, workbook, done, bad]):
        Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=age))

    response = organiser.get(JOBS)

    assert response.status_code == 200
    assert [job.pk for job in response.context["cl"].result_list] == [running.pk, workbook.pk, done.pk, bad.pk]
    text = response.content.decode()
    for shown in (
        "Making passwords: 70 of 250",
        "35%",
        "Workbook of 52 kB.",
        "240 new, 10 updated teams, 240 logins set.",
        "2 row(s) have errors; nothing was imported.",
        admin_user.email,
        other.email,
        "Team import",
        "Results workbook",
    ):
        assert shown in text, shown


def test_the_list_filters_by_kind_and_status(organiser, admin_user):
    ended(JobKind.TEAM_IMPORT, JobStatus.FAILED, started_by=admin_user, error="Nope.")
    ended(JobKind.TEAM_IMPORT, JobStatus.DONE, started_by=admin_user, result={"created": 1})
    results = ended(JobKind.RESULTS, JobStatus.DONE, started_by=admin_user, result={"bytes": 1000})

    by_kind = organiser.get(JOBS, {"kind__exact": "results"})
    by_status = organiser.get(JOBS, {"status__exact": "failed"})

    assert [job.pk for job in by_kind.context["cl"].result_list] == [results.pk]
    assert [job.error for job in by_status.context["cl"].result_list] == ["Nope."]


def test_a_job_whose_worker_died_shows_failed_with_why_in_the_list(organiser, admin_user, settings):
    job = job_start(kind=JobKind.RESULTS, by=admin_user)
    stale = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 5)
    Job.objects.filter(pk=job.pk).update(status="running", started_at=stale, heartbeat_at=stale)

    text = organiser.get(JOBS).content.decode()

    assert "The worker running it stopped before it finished" in text
    job.refresh_from_db()
    assert job.status == "failed"


def test_jobs_are_read_only(organiser, admin_user):
    job = ended(JobKind.RESULTS, JobStatus.DONE, started_by=admin_user, result={"bytes": 1000})

    assert organiser.get(f"{JOBS}add/").status_code == 403
    assert organiser.post(f"{JOBS}{job.pk}/delete/").status_code == 403
    assert organiser.post(page(job), {"status": "queued"}).status_code == 200  # the page, unchanged
    job.refresh_from_db()
    assert job.status == "done"


# A job's page, in each state


def test_a_queued_job_shows_an_empty_bar_waiting_for_a_worker_and_polls(organiser, admin_user):
    job = job_start(kind=JobKind.TEAM_IMPORT, by=admin_user, content=sheet(300), filename="teams.csv")

    response = organiser.get(page(job))

    text = response.content.decode()
    assert response.status_code == 200
    assert '<progress id="job-progress" max="100" value="0"' in text
    assert "Waiting for a worker to take it." in text
    assert f'data-poll="/api/admin/jobs/{job.pk}"' in text and 'data-status="queued"' in text
    assert "control/job.js" in text
    assert "teams.csv" in text and admin_user.email in text
    assert "you may close this page and come back" in text
    assert 'id="job-report"' in text and "<h3" not in text  # no report yet


def test_a_running_job_shows_its_progress_and_stage_in_words(organiser, admin_user):
    job = job_start(kind=JobKind.TEAM_IMPORT, by=admin_user, content=sheet(300), filename="teams.csv")
    Job.objects.filter(pk=job.pk).update(status="running", progress=42, stage="Making passwords: 100 of 300")

    text = organiser.get(page(job)).content.decode()

    assert 'value="42"' in text and 'aria-describedby="job-stage"' in text
    assert 'role="status" data-field="stage">Making passwords: 100 of 300</p>' in text
    assert 'data-status="running"' in text


def test_a_finished_import_shows_its_counts_and_its_logins_once(organiser, admin_user, fast_hashing):
    job = job_start(kind=JobKind.TEAM_IMPORT, by=admin_user, content=sheet(210), filename="teams.csv")
    run_job.call(str(job.pk))

    text = organiser.get(page(job)).content.decode()

    assert 'value="100"' in text and 'data-status="done"' in text
    assert "<strong>210</strong> new teams" in text and "<strong>0</strong> updated" in text
    link = f"/api/admin/jobs/{job.pk}/download"
    assert f'href="{link}" data-role="logins">Download the logins of 210 teams (.xlsx)' in text
    sheet_download = organiser.get(link)  # the admin's session is enough
    assert sheet_download.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(sheet_download.content)).active.values)
    assert len(rows) == 211

    again = organiser.get(page(job)).content.decode()  # the page reopened
    assert link not in again and "was downloaded (it downloads once)" in again


def test_logins_left_too_long_are_said_to_be_gone(organiser, admin_user):
    job = ended(
        JobKind.TEAM_IMPORT,
        JobStatus.DONE,
        started_by=admin_user,
        result={"created": 250, "updated": 0, "errors": [], "credentials": 250},
        output=b"a workbook",
    )
    Job.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(minutes=31))

    text = organiser.get(page(job)).content.decode()

    assert "waited 30 minutes and is gone" in text and "/download" not in text


def test_an_import_that_set_no_password_says_there_is_no_logins_sheet(organiser, admin_user):
    job = ended(
        JobKind.TEAM_IMPORT,
        JobStatus.DONE,
        started_by=admin_user,
        result={"created": 0, "updated": 250, "errors": [], "credentials": 0},
    )

    text = organiser.get(page(job)).content.decode()

    assert "<strong>250</strong> updated" in text and "there is no logins sheet" in text


def test_a_failed_import_lists_every_bad_row_and_imported_nothing(organiser, admin_user, fast_hashing):
    job = job_start(kind=JobKind.TEAM_IMPORT, by=admin_user, content=sheet(260, bad_row=250), filename="teams.csv")
    run_job.call(str(job.pk))

    text = organiser.get(page(job)).content.decode()

    assert "Nothing was imported</h3>" in text
    assert '<p class="errornote">1 row(s) have errors; nothing was imported.</p>' in text
    assert re.search(r"<td>251</td>\s*<td>email</td>\s*<td>&#x27;not-an-email&#x27; is not an e-mail", text)
    assert "Failed at" in text and 'data-status="failed"' in text
    assert not Participant.objects.exists()


def test_a_job_that_failed_otherwise_says_why_in_words(organiser, admin_user):
    job = ended(
        JobKind.RESULTS,
        JobStatus.FAILED,
        started_by=admin_user,
        error="Something went wrong on the server; nothing was kept. Start it again.",
    )

    text = organiser.get(page(job)).content.decode()

    assert "No workbook was made</h3>" in text
    assert "Something went wrong on the server; nothing was kept. Start it again." in text
    assert "<table" not in text.split('id="job-report"')[1]


def test_a_finished_results_job_offers_its_workbook(organiser, admin_user, team):
    organiser.post(RESULTS)
    job = Job.objects.get(kind=JobKind.RESULTS)
    run_job.call(str(job.pk))

    text = organiser.get(page(job)).content.decode()

    link = f"/api/admin/jobs/{job.pk}/download"
    assert f'href="{link}" data-role="workbook">Download the results workbook (.xlsx)' in text
    book = openpyxl.load_workbook(io.BytesIO(organiser.get(link).content))
    assert book.sheetnames[0] == "Leaderboard"
    assert "/api/admin/jobs/" in organiser.get(page(job)).content.decode()  # it downloads again


def test_an_unknown_job_is_not_found(organiser):
    assert organiser.get(f"{JOBS}00000000-0000-0000-0000-000000000000/change/").status_code in (302, 404)
    assert organiser.get(f"{JOBS}not-a-uuid/change/").status_code in (302, 404)


# The admin's team import


def test_the_preview_of_a_big_file_says_it_will_run_in_the_background(organiser, settings):
    settings.IMPORT_JOB_ROWS = 200

    big = preview(organiser, sheet(201)).content.decode()
    small = preview(organiser, sheet(200)).content.decode()

    assert "This file has 201 rows: once you confirm, it is imported in the background" in big
    assert "in the background" not in small
    assert not Job.objects.exists() and not Participant.objects.exists()  # a preview starts nothing


def test_a_big_import_confirmed_starts_a_job_and_goes_to_its_page(organiser, admin_user, settings, fast_hashing):
    settings.IMPORT_JOB_ROWS = 200
    content = sheet(201)

    response = confirm(organiser, content)

    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == page(job)
    assert (job.kind, job.status, job.started_by, job.filename) == ("team_import", "queued", admin_user, "teams.csv")
    assert bytes(job.content) == content  # the file as uploaded, for the worker
    assert not Participant.objects.exists()  # the worker imports it, not the request

    run_job.call(str(job.pk))

    assert Participant.objects.count() == 201
    assert "<strong>201</strong> new teams" in organiser.get(page(job)).content.decode()


def test_a_small_import_is_done_at_once_as_before(organiser, settings, fast_hashing):
    settings.IMPORT_JOB_ROWS = 200

    done = confirm(organiser, sheet(3), follow=True)

    assert done.redirect_chain[-1][0] == TEAMS
    assert Participant.objects.count() == 3 and not Job.objects.exists()
    assert any("3 new, 0 updated teams" in text for _level, text in messages_of(done))


def test_a_second_big_import_while_one_runs_says_so_and_links_to_it(organiser, admin_user, settings):
    settings.IMPORT_JOB_ROWS = 5
    first = job_start(kind=JobKind.TEAM_IMPORT, by=admin_user, content=sheet(300), filename="first.csv")
    Job.objects.filter(pk=first.pk).update(status="running", progress=20)

    done = confirm(organiser, sheet(6), follow=True)

    assert done.redirect_chain[-1][0] == TEAMS
    [(level, text)] = messages_of(done)
    assert level == "error"
    assert f"A team import is already running by {admin_user.email}" in text
    assert f'<a href="{page(first)}">Open it</a>' in text
    assert Job.objects.count() == 1 and not Participant.objects.exists()


# The results workbook, started from the admin


def test_the_results_buttons_post_to_start_a_job(organiser):
    for changelist in (TEAMS, "/admin/market/transaction/", JOBS):
        text = organiser.get(changelist).content.decode()
        assert f'<form method="post" action="{RESULTS}" class="object-tool-form">' in text, changelist
        assert f'name="next" value="{changelist}"' in text
        assert "Build results workbook (.xlsx)" in text


def test_the_results_button_starts_a_job_and_a_second_click_says_one_runs(organiser, admin_user):
    response = organiser.post(RESULTS, {"next": "/admin/market/transaction/"})

    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == page(job)
    assert (job.kind, job.status, job.started_by) == ("results", "queued", admin_user)

    again = organiser.post(RESULTS, {"next": "/admin/market/transaction/"}, follow=True)

    assert again.redirect_chain[-1][0] == "/admin/market/transaction/"
    [(level, text)] = messages_of(again)
    assert level == "error" and "A results workbook is already queued" in text and page(job) in text
    assert Job.objects.count() == 1


def test_the_results_button_posts_only_and_goes_back_only_to_this_site(organiser):
    assert organiser.get(RESULTS).status_code == 405
    organiser.post(RESULTS)
    again = organiser.post(RESULTS, {"next": "https://elsewhere.example/"})
    assert again["Location"] == JOBS


def test_the_results_workbook_for_scripts_stays_synchronous(admin_api, team):
    response = admin_api.get("/api/admin/results")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert not Job.objects.exists()


# Teams are kept out


def test_a_team_sees_no_job_and_starts_none(client, team, admin_user):
    job = ended(JobKind.RESULTS, JobStatus.DONE, started_by=admin_user, result={"bytes": 1000})
    client.force_login(team.user)

    for response in (client.get(JOBS), client.get(page(job)), client.post(RESULTS)):
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client.get(f"/api/admin/jobs/{job.pk}").status_code == 403
    assert Job.objects.count() == 1

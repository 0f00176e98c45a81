"""A big team import in a real browser (headless Chromium) against a real server (Daphne) and a real
worker (`manage.py db_worker`, django-tasks' database backend): the organiser confirms the file in
the admin, lands on the job's page, and watches the progress bar move to 100% while the worker
makes the passwords (Argon2, as in production), then the report and the logins sheet appear."""

import io
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager

import openpyxl
import pytest
from django.test import override_settings

from market.models import Participant
from organisers.models import Job
from overlay.tests.servers import ROOT, server_env

# Committed data, so the server and the worker see it; on SQLite, the embedded database, where three
# processes (this test, the server, the worker) share one file: its WAL and busy timeout let them.
pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]

SHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "lantern-harbour-41"
TEAMS = 300  # above IMPORT_JOB_ROWS (200): a job
DESK = {"width": 1366, "height": 900}


@contextmanager
def worker_process(log_path, *, interval: float = 0.2):
    """`manage.py db_worker`, as `make run` and the container run it, over the test database (the
    scheduler's way: overlay/tests/servers.py). Its output goes to a file, not a pipe nobody reads
    (which would stop it once full); stopped with SIGTERM at the end."""
    command = ["manage.py", "db_worker", "--interval", str(interval), "--no-reload", "--no-startup-delay"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, *command], cwd=ROOT, env=server_env(), stdout=log, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture
def worker(tmp_path):
    log = tmp_path / "worker.log"
    with worker_process(log) as process:
        yield process
    if process.returncode not in (0, -15):
        pytest.fail(f"the worker ended with {process.returncode}: {log.read_text()[-3000:]}")


@pytest.fixture
def organiser(admin_user):
    # A password the server can check (the suite's fast hasher is not in the server's list).
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        admin_user.set_password(PASSWORD)
        admin_user.save(update_fields=["password"])
    return admin_user


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=DESK, accept_downloads=True)
    errors = []
    context.on("weberror", lambda error: errors.append(str(error.error)))
    yield context.new_page()
    context.close()
    assert errors == [], errors


def teams_file(folder, count: int):
    path = folder / "teams.csv"
    lines = ["email,team,school"] + [f"team{n}@school.test,Team {n:04d},School {n % 9}" for n in range(1, count + 1)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_an_organiser_watches_a_big_import_run_to_its_end(page, server, worker, organiser, tmp_path):
    base = f"http://127.0.0.1:{server['port']}"
    page.goto(f"{base}/admin/market/participant/import/")  # to the admin's sign-in, and back
    page.fill("#id_username", organiser.email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/market/participant/import/")

    page.select_option("#id_format", label="csv")
    page.set_input_files("#id_import_file", str(teams_file(tmp_path, TEAMS)))
    page.click("input[type=submit][value=Submit]")
    page.get_by_text(f"This file has {TEAMS} rows: once you confirm, it is imported in the background").wait_for()
    page.click("input[name=confirm]")

    page.wait_for_url("**/admin/organisers/job/*/change/")
    job = Job.objects.get()
    assert page.url == f"{base}/admin/organisers/job/{job.pk}/change/"
    bar = page.get_by_role("progressbar", name="Progress")
    assert bar.get_attribute("aria-describedby") == "job-stage"

    # The bar moves (the page asks about once a second) and never goes back, to 100%.
    seen, stages, shot = [], set(), False
    deadline = time.monotonic() + 120
    while page.locator("#job-report h3").count() == 0:
        assert time.monotonic() < deadline, f"the job did not end: {seen}, {stages}"
        value = page.evaluate("Number(document.getElementById('job-progress').value)")
        if not seen or seen[-1] != value:
            seen.append(value)
        stages.add(page.locator("#job-stage").inner_text())
        if 0 < value < 100 and not shot:
            _shot(page, tmp_path, "admin-job-progress")
            shot = True
        time.sleep(0.1)
    assert seen == sorted(seen), seen
    assert any(0 < value < 100 for value in seen), seen  # it was seen on its way
    assert any(stage.startswith("Making passwords:") for stage in stages), stages
    assert bar.get_attribute("value") == "100" and page.locator("#job-stage").inner_text() == "Done"
    assert page.locator('[data-field="status"]').inner_text() == "Done"

    report = page.locator("#job-report")
    assert report.get_by_role("heading", name="Imported").is_visible()
    assert f"{TEAMS} new teams, 0 updated" in report.inner_text()
    assert Participant.objects.count() == TEAMS

    # The page closed and opened again: the same report, from the job.
    again = page.context.new_page()
    again.goto(page.url)
    assert f"{TEAMS} new teams" in again.locator("#job-report").inner_text()
    again.close()

    logins = report.get_by_role("link", name=f"Download the logins of {TEAMS} teams (.xlsx)")
    with page.expect_download() as download:
        logins.click()
    assert download.value.suggested_filename == "team-logins.xlsx"
    rows = list(openpyxl.load_workbook(io.BytesIO(download.value.path().read_bytes())).active.values)
    emails = {f"team{n}@school.test" for n in range(1, TEAMS + 1)}
    assert len(rows) == 1 + TEAMS and {row[2] for row in rows[1:]} == emails
    report.get_by_text("Downloaded: the logins sheet downloads once.").wait_for()

    page.reload()
    assert "was downloaded (it downloads once)" in page.locator("#job-report").inner_text()
    assert worker.poll() is None  # still waiting for work


def _shot(page, folder, name: str) -> None:
    """A picture of the job's page; `SAVE_SCREENSHOTS=1` refreshes docs/screenshots/."""
    shot = folder / f"{name}.png"
    page.locator("#content").screenshot(path=str(shot))
    assert shot.stat().st_size > 5000, name
    if os.environ.get("SAVE_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, SHOTS / shot.name)

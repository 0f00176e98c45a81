"""Sentry starts only with SENTRY_DSN; then a server error reaches it with its request id and
without the team's personal data."""

import json

from brainstorm.tests.production import run_python

# A Sentry client that keeps its envelopes instead of sending them (no network in tests).
SCRIPT = """
import json
import django
django.setup()
import sentry_sdk
from django.conf import settings

client = sentry_sdk.get_client()
report = {"enabled": settings.SENTRY_ENABLED, "active": client.is_active()}
if client.is_active():
    from sentry_sdk.transport import Transport

    class Keep(Transport):
        def __init__(self, options):
            super().__init__(options)
            self.envelopes = []

        def capture_envelope(self, envelope):
            self.envelopes.append(envelope)

    keep = Keep(client.options)
    client.transport = keep
    report["send_default_pii"] = client.options["send_default_pii"]
    report["integrations"] = sorted(client.integrations)

    from django.test import Client
    from accounts.models import User, Role
    from django.core.management import call_command
    from market.api.reads import PortfolioView
    from market.services import participant_create

    call_command("migrate", verbosity=0)
    user = User.objects.create_user(
        email="jane.doe@school.example", password="x-long-password-1", role=Role.PARTICIPANT
    )
    participant_create(user=user, display_name="Team Jane")

    def broken(self, request):
        raise RuntimeError("portfolio exploded")

    PortfolioView.get = broken
    browser = Client(raise_request_exception=False)
    browser.force_login(user)
    url = "/api/portfolio?token=overlay-secret-in-url"
    response = browser.get(url, HTTP_X_REQUEST_ID="team-report-0001", secure=True)
    sentry_sdk.flush()
    events = [item.payload.json for envelope in keep.envelopes for item in envelope.items if item.type == "event"]
    report["status"] = response.status_code
    report["events"] = events

    # An error on the admin's one-time link to printed logins, whose path is a secret.
    import organisers.admin.teams

    def sheet_broken(token):
        raise RuntimeError("sheet exploded")

    organisers.admin.teams.credentials_take = sheet_broken
    organiser = User.objects.create_superuser(email="organiser@school.example", password="x-long-password-2")
    browser.force_login(organiser)
    try:
        browser.get("/admin/market/participant/credentials/Zq3xK9-sheet-token/", secure=True)
    except ValueError:  # the error page's stylesheet: no collectstatic in this test
        pass
    sentry_sdk.flush()
    everything = [item.payload.json for envelope in keep.envelopes for item in envelope.items if item.type == "event"]
    report["sheet_events"] = everything[len(events) :]
print("REPORT " + json.dumps(report, default=str))
"""


def run_with(tmp_path, **env) -> dict:
    result = run_python(SCRIPT, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", LOG_LEVEL="CRITICAL", **env)
    [line] = [line for line in result.stdout.splitlines() if line.startswith("REPORT ")]
    return json.loads(line.removeprefix("REPORT "))


def test_without_a_dsn_nothing_is_started(tmp_path):
    assert run_with(tmp_path) == {"enabled": False, "active": False}


def test_with_a_dsn_a_server_error_is_reported_with_its_request_id_and_no_personal_data(tmp_path):
    report = run_with(tmp_path, SENTRY_DSN="https://public@errors.example.invalid/42")

    assert report["enabled"] and report["active"]
    assert report["send_default_pii"] is False
    assert "django" in report["integrations"]
    assert report["status"] == 500
    [event] = [event for event in report["events"] if event.get("exception")]
    assert event["exception"]["values"][-1]["value"] == "portfolio exploded"
    assert event["tags"]["request_id"] == "team-report-0001"
    sent = json.dumps(event)
    assert "jane.doe@school.example" not in sent
    assert "sessionid" not in sent
    assert "overlay-secret-in-url" not in sent
    assert "email" not in event.get("user", {})

    [sheet] = [
        event
        for event in report["sheet_events"]
        if event.get("exception") and event["exception"]["values"][-1]["value"] == "sheet exploded"
    ]
    assert sheet["transaction"] == "/admin/market/participant/credentials/{token}/"  # the route, not the path
    assert "Zq3xK9-sheet-token" not in json.dumps(report["sheet_events"])

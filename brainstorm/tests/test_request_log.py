"""Each request has an id, returned to the client, on its JSON log line and on its errors; trades,
bells, price changes and imports each leave one line; e-mail addresses never appear whole."""

import json
import logging
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import transaction
from django.test import Client

from brainstorm.tests.production import run_python
from common.logs import RequestContextFilter, mask_email
from common.views import server_error
from market import services
from market.api.reads import MarketView

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def test_every_answer_carries_a_new_request_id():
    first, second = Client().get("/api/market"), Client().get("/api/market")
    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_proxys_request_id_is_kept_and_a_strange_one_replaced():
    assert Client().get("/api/market", HTTP_X_REQUEST_ID="lb-7f3a9c1e-0001")["X-Request-ID"] == "lb-7f3a9c1e-0001"
    for strange in ("<script>", "x" * 500, "short", "two words here", "abcdefgh\n", "abcdefgh\r\nSet-Cookie: a=b"):
        returned = Client().get("/api/market", HTTP_X_REQUEST_ID=strange)["X-Request-ID"]
        assert returned != strange
        assert len(returned) == 32


def test_a_request_writes_one_line_with_its_id_user_status_and_duration(team, log_lines):
    client = Client()
    client.force_login(team.user)
    response = client.get("/api/portfolio?page=1&token=secret-in-query", HTTP_X_REQUEST_ID="req-0123456789")

    [line] = [line for line in log_lines() if line["logger"] == "brainstorm.requests"]
    assert response["X-Request-ID"] == "req-0123456789"
    assert line["request_id"] == "req-0123456789"
    assert line["user_id"] == str(team.user.pk)
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/portfolio", 200)
    assert line["duration_ms"] >= 0
    assert line["time"].startswith("20")
    assert "secret-in-query" not in json.dumps(line)


def test_a_server_error_gives_the_team_its_request_id_and_logs_it(monkeypatch, log_lines):
    def broken(self, request):
        raise RuntimeError("the database said something odd")

    monkeypatch.setattr(MarketView, "get", broken)
    response = Client(raise_request_exception=False).get("/api/market")

    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "server_error"
    assert body["request_id"] == response["X-Request-ID"]
    error = next(line for line in log_lines() if line["logger"] == "django.request")
    assert error["level"] == "ERROR"
    assert error["request_id"] == response["X-Request-ID"]
    assert "RuntimeError: the database said something odd" in error["exc_info"]


def test_the_error_page_shows_the_reference(rf):
    request = rf.get("/portfolio/")
    request.request_id = "page-ref-12345678"
    response = server_error(request)
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content
    assert b"page-ref-12345678" in response.content


def test_e_mail_addresses_are_masked_in_every_line(log_lines):
    logging.getLogger("brainstorm.accounts").warning("sign-in failed for %s", "jane.doe@school.example")
    [line] = log_lines()
    assert "jane.doe@school.example" not in json.dumps(line)
    assert line["message"] == "sign-in failed for j***@school.example"
    assert mask_email("a@b.co and zed@x.org") == "a***@b.co and z***@x.org"


def test_the_one_time_link_to_printed_logins_is_logged_without_its_token(admin_user, log_lines):
    client = Client()
    client.force_login(admin_user)
    response = client.get("/admin/market/participant/credentials/Zq3xK9-sheet-token/")

    assert response.status_code == 404  # no such sheet
    # What Django's own logger writes for a server error names the path too.
    logging.getLogger("django.request").error("Internal Server Error: %s", response.wsgi_request.path)
    lines = log_lines()
    [line] = [line for line in lines if line["logger"] == "brainstorm.requests"]
    assert line["path"] == "/admin/market/participant/credentials/***/"
    assert lines[-1]["message"] == "Internal Server Error: /admin/market/participant/credentials/***/"
    assert "Zq3xK9-sheet-token" not in json.dumps(lines)


def test_a_trade_logs_one_line_once_it_commits(
    team, company, open_market, log_lines, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        trade = services.trade_execute(participant=team, company=company, side="buy", quantity=5).transaction
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        services.trade_execute(participant=team, company=company, side="buy", quantity=7)
        transaction.set_rollback(True)

    [line] = [line for line in log_lines() if line.get("event") == "trade"]
    assert line["trade_id"] == str(trade.pk)
    assert line["participant_id"] == str(team.pk)
    assert (line["ticker"], line["side"], line["quantity"], line["price"]) == ("ACME", "buy", 5, "10.00")
    assert "@" not in json.dumps(line)


def test_bells_and_price_changes_log_a_line_each(company, log_lines, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.market_open(by=None)
        services.price_set(company=company, price=Decimal("12.50"), by=None)
        services.market_close(by=None)

    events = [(line["event"], line.get("action") or line.get("price")) for line in log_lines() if "event" in line]
    assert events == [("bell", "start_day"), ("price", "12.50"), ("bell", "end_day")]


def test_an_import_logs_its_counts_without_the_e_mails(admin_user, log_lines, django_capture_on_commit_callbacks):
    from organisers.imports import participants_import

    sheet = b"email,display_name,school\nnew.team@school.example,New Team,SMA 9\n"
    with django_capture_on_commit_callbacks(execute=True):
        participants_import(content=sheet, filename="teams.csv", by=admin_user)

    [line] = [line for line in log_lines() if line.get("event") == "import"]
    assert (line["kind"], line["added"], line["updated"]) == ("participants", 1, 0)
    assert line["by_user_id"] == str(admin_user.pk)
    assert "new.team@school.example" not in json.dumps(line)


def test_in_production_a_request_writes_one_json_line_to_stdout(tmp_path):
    """The real settings, as the container runs them: DEBUG off, logs as JSON on stdout."""
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "response = Client().get('/api/health', HTTP_X_REQUEST_ID='probe-20261126-0001', secure=True)\n"
        "print('RETURNED', response['X-Request-ID'], response.status_code)\n"
    )
    result = run_python(script, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "RETURNED probe-20261126-0001 200"
    requests = [json.loads(line) for line in lines[:-1] if '"brainstorm.requests"' in line]
    assert len(requests) == 1
    [line] = requests
    assert line["request_id"] == "probe-20261126-0001"
    assert (line["method"], line["path"], line["route"], line["status"]) == ("GET", "/api/health", "health", 200)
    assert line["user_id"] is None  # nobody signed in
    assert line["duration_ms"] >= 0
    assert line["time"].startswith("20") and line["level"] == "INFO"


def test_a_server_error_logs_no_query_string(monkeypatch, log_lines):
    def broken(self, request):
        raise RuntimeError("boom")

    monkeypatch.setattr(MarketView, "get", broken)
    Client(raise_request_exception=False).get("/api/market?token=overlay-secret-in-url")
    text = json.dumps(log_lines())
    assert "RuntimeError: boom" in text
    assert "overlay-secret-in-url" not in text


def test_a_record_with_a_bad_format_string_does_not_break_the_caller():
    record = logging.makeLogRecord({"msg": "%s and %s", "args": ("only one",)})
    assert RequestContextFilter().filter(record) is True

"""/metrics: only for the monitoring, and its figures follow what happens on the market."""

import io
import json
import os
import socket
import time
import urllib.error
import urllib.request
from datetime import timedelta
from decimal import Decimal

import environ
import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from common.env import env_networks
from common.metrics import ScrapeTimeCollector
from market.services import price_set
from organisers.scheduler import run_due
from organisers.tests.cues import due_cue

pytestmark = pytest.mark.django_db

METRICS_TOKEN = "metrics-token-for-the-tests-0123456789"
BEARER = {"HTTP_AUTHORIZATION": f"Bearer {METRICS_TOKEN}"}


def scrape(**extra) -> dict[tuple[str, tuple], float]:
    """What Prometheus reads: {(sample name, sorted labels): value}."""
    with override_settings(METRICS_TOKEN=METRICS_TOKEN):
        response = Client().get("/metrics", **BEARER, **extra)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@override_settings(METRICS_TOKEN=METRICS_TOKEN, METRICS_ALLOWED_CIDR=[])
def test_metrics_are_refused_without_the_token_or_with_a_wrong_one():
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_AUTHORIZATION": METRICS_TOKEN}):
        response = Client().get("/metrics", **headers)
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
        assert b"brainstorm_" not in response.content


@override_settings(METRICS_TOKEN="", METRICS_ALLOWED_CIDR=[])
def test_with_no_token_and_no_allowed_address_nobody_reads_the_metrics():
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_the_monitoring_network_reads_them_without_a_token():
    with override_settings(METRICS_TOKEN="", METRICS_ALLOWED_CIDR=_networks_for("10.9.0.0/16")):
        assert Client(REMOTE_ADDR="10.9.3.4").get("/metrics").status_code == 200
        assert Client(REMOTE_ADDR="10.8.3.4").get("/metrics").status_code == 403


def test_the_venue_allow_list_does_not_hide_the_metrics_from_the_token():
    with override_settings(ALLOWED_CIDR=_networks_for("192.168.50.0/24"), METRICS_TOKEN=METRICS_TOKEN):
        assert Client(REMOTE_ADDR="10.9.3.4").get("/metrics", **BEARER).status_code == 200
        assert Client(REMOTE_ADDR="10.9.3.4").get("/api/market").status_code == 403


def test_prometheus_scrapes_each_server_by_its_address_over_plain_http():
    with override_settings(
        METRICS_TOKEN=METRICS_TOKEN, ALLOWED_HOSTS=["brainstorm.example.org"], SECURE_SSL_REDIRECT=True
    ):
        scraped = Client(HTTP_HOST="10.0.3.7:8000").get("/metrics", **BEARER)
        page = Client(HTTP_HOST="10.0.3.7:8000").get("/api/market")
    assert scraped.status_code == 200
    assert b"brainstorm_http_requests_total" in scraped.content
    assert page.status_code == 400  # everything else still checks the host name


def test_the_scrapes_are_counted_under_their_own_route():
    before = scrape()
    after = scrape()
    labels = {"route": "metrics", "method": "GET", "status": "200"}
    assert (
        value(after, "brainstorm_http_requests_total", **labels)
        == value(before, "brainstorm_http_requests_total", **labels) + 1
    )


def _networks_for(text: str):
    os.environ["BRAINSTORM_TEST_CIDR"] = text
    try:
        return env_networks(environ.Env(), "BRAINSTORM_TEST_CIDR")
    finally:
        del os.environ["BRAINSTORM_TEST_CIDR"]


def test_requests_are_counted_and_timed_by_route_not_by_path(team_api):
    before = scrape()
    assert team_api.get("/api/companies/NOPE").status_code == 404
    assert team_api.get("/api/companies/ZZZ").status_code == 404
    after = scrape()

    labels = {"route": "companies-detail", "method": "GET", "status": "404"}
    assert (
        value(after, "brainstorm_http_requests_total", **labels)
        == value(before, "brainstorm_http_requests_total", **labels) + 2
    )
    timed = {"route": "companies-detail", "method": "GET"}
    assert (
        value(after, "brainstorm_http_request_duration_seconds_count", **timed)
        == value(before, "brainstorm_http_request_duration_seconds_count", **timed) + 2
    )
    assert not any("NOPE" in str(labels) for _name, labels in after)


def test_a_trade_and_a_refusal_move_their_counters(team_api, company, open_market, django_capture_on_commit_callbacks):
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            team_api.post(
                "/api/transactions", {"ticker": "ACME", "type": "buy", "quantity": 10}, format="json"
            ).status_code
            == 201
        )
    refused = team_api.post(
        "/api/transactions", {"ticker": "ACME", "type": "buy", "quantity": 10_000_000}, format="json"
    )
    assert refused.json()["code"] == "insufficient_funds"
    invalid = team_api.post("/api/transactions", {"ticker": "NOPE", "type": "buy", "quantity": 1}, format="json")
    assert invalid.json()["code"] == "validation_error"
    after = scrape()

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("brainstorm_trades_executed_total", side="buy") == 1
    assert moved("brainstorm_trades_executed_total", side="sell") == 0
    assert moved("brainstorm_trades_refused_total", code="insufficient_funds") == 1
    assert moved("brainstorm_trades_refused_total", code="validation_error") == 1


def test_a_trade_rolled_back_is_not_counted_as_executed(team, company, open_market, django_capture_on_commit_callbacks):
    from django.db import transaction

    from market.services import trade_execute

    before = scrape()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        trade_execute(participant=team, company=company, side="buy", quantity=1)
        transaction.set_rollback(True)
    after = scrape()
    assert value(after, "brainstorm_trades_executed_total", side="buy") == value(
        before, "brainstorm_trades_executed_total", side="buy"
    )


def test_events_are_counted_by_type_when_they_go_out(company, django_capture_on_commit_callbacks):
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True):
        price_set(company=company, price=Decimal("12.00"), by=None)
    after = scrape()
    assert (
        value(after, "brainstorm_events_broadcast_total", type="price")
        == value(before, "brainstorm_events_broadcast_total", type="price") + 1
    )


def test_scheduler_lag_shows_a_due_price_change_nobody_fired(company):
    due = due_cue("price", timezone.now() - timedelta(seconds=90), ticker=company.ticker, price="11.00")
    assert value(scrape(), "brainstorm_scheduler_lag_seconds") >= 90

    run_due()
    due.refresh_from_db()
    assert due.status == "fired"
    assert value(scrape(), "brainstorm_scheduler_lag_seconds") == 0


def test_the_scheduler_reports_its_last_tick():
    call_command("run_scheduler", "--once", stdout=io.StringIO())
    age = value(scrape(), "brainstorm_scheduler_last_tick_age_seconds")
    assert 0 <= age < 5


def test_registering_the_scrape_time_figures_reads_nothing(django_assert_num_queries):
    # The registry is filled at import, before a server or a test run has chosen its database.
    registry = CollectorRegistry()
    with django_assert_num_queries(0):
        registry.register(ScrapeTimeCollector())


@pytest.mark.postgres
def test_the_database_pool_in_use_is_reported(team_api):
    samples = scrape()
    assert value(samples, "brainstorm_db_pool_max_connections") >= 1
    in_use = value(samples, "brainstorm_db_pool_connections", state="in_use")
    # The test's own connection is checked out while it scrapes.
    assert in_use >= 1


@override_settings(METRICS_TOKEN=METRICS_TOKEN, METRICS_ALLOWED_CIDR=[])
def test_a_token_with_letters_outside_ascii_is_refused_not_a_server_error():
    response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer é-not-the-token")
    assert response.status_code == 403


def test_methods_a_client_makes_up_are_counted_together():
    before = scrape()
    Client().generic("PURGE123XYZ", "/api/market")
    Client().generic("PURGE456XYZ", "/api/market")
    after = scrape()
    assert not any("PURGE" in str(labels) for _name, labels in after)
    other = {"route": "market", "method": "other"}
    assert (
        value(after, "brainstorm_http_request_duration_seconds_count", **other)
        == value(before, "brainstorm_http_request_duration_seconds_count", **other) + 2
    )


def _get(url: str, **headers) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


@pytest.mark.django_db(transaction=True)  # the scheduler is another process: it reads what is committed
def test_the_scheduler_counts_the_events_it_sends_on_its_own_metrics_port(company):
    from overlay.tests.servers import free_port, scheduler_process

    due_cue("price", timezone.now() - timedelta(seconds=5), ticker=company.ticker, price="11.50")
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    with scheduler_process(metrics_port=port, METRICS_TOKEN=METRICS_TOKEN, METRICS_ALLOWED_CIDR="") as scheduler:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, text = _get(url, Authorization=f"Bearer {METRICS_TOKEN}")
            except OSError:
                status, text = 0, ""
            if status == 200 and 'brainstorm_events_broadcast_total{type="price"} 1.0' in text:
                break
            assert scheduler.poll() is None, scheduler.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, f"no price event counted; last answer {status}: {text[-2000:]}"
            time.sleep(0.2)
        refused, body = _get(url)
        wrong_path, _ = _get(f"http://127.0.0.1:{port}/admin/", Authorization=f"Bearer {METRICS_TOKEN}")
    assert scheduler.returncode == 0  # it stopped on SIGTERM, its metrics thread with it
    assert "brainstorm_scheduler_lag_seconds 0.0" in text
    assert (refused, json.loads(body)["code"]) == (403, "permission_denied")
    assert "brainstorm_" not in body
    assert wrong_path == 404


def test_a_metrics_port_that_cannot_be_had_leaves_the_process_running_without_it(monkeypatch):
    from common import metrics

    errors = []
    monkeypatch.setattr(metrics.logger, "error", lambda message, *args, **kwargs: errors.append(message % args))
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert metrics.serve_metrics(port) is None
    assert metrics.serve_metrics(70_000) is None
    assert errors == [f"no /metrics on port {number}: it cannot be opened" for number in (port, 70_000)]


def test_a_silent_connection_to_the_metrics_port_is_closed():
    from common import metrics
    from overlay.tests.servers import free_port

    port = free_port()
    server = metrics.serve_metrics(port, "127.0.0.1")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=15) as silent:
            assert silent.recv(1) == b""  # the server hung up on it (after 5 s)
    finally:
        server.shutdown()
        server.server_close()

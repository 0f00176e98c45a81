"""The on-call screen, for real: Prometheus (Debian's) scrapes a live Daphne server and the
scheduler with the jobs of docker/prometheus/prometheus.yml, while a team trades, an order is
refused, an overlay is open and the scheduler changes prices. Then every panel of the Grafana
dashboard and every alert rule is evaluated by that Prometheus: each must be valid PromQL over
what the servers export, the health row must show what happened, and an alert must fire when a
server goes away. PostgreSQL and Redis: the scheduler's heartbeat reaches the web server through
the shared cache, and the pool figures exist only on PostgreSQL."""

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from django.utils import timezone
from rest_framework.authtoken.models import Token

from market.services import market_open
from organisers.tests.cues import due_cue
from overlay.tests.servers import TOKEN, daphne_server, free_port, scheduler_process

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "docker" / "prometheus"
DASHBOARD = ROOT / "docker" / "grafana" / "dashboards" / "brainstorm.json"
METRICS_TOKEN = "monitoring-test-token-0123456789abcdef"


def prometheus_config(targets: dict[str, str]) -> dict:
    """docker/prometheus/prometheus.yml with each job pointed at `targets[job]` on loopback and the
    bearer token (as a Prometheus outside the compose network scrapes)."""
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(MONITORING / "alerts.yml")]
    for job in config["scrape_configs"]:
        job.pop("dns_sd_configs", None)
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
        job["authorization"] = {"credentials": METRICS_TOKEN}
    assert {job["job_name"] for job in config["scrape_configs"]} == set(targets)
    return config


class Prometheus:
    def __init__(self, tmp_path: Path, targets: dict[str, str]) -> None:
        executable = shutil.which("prometheus")
        if executable is None:
            pytest.fail("prometheus is missing: install Debian's prometheus (`make test-tools`)")
        config = tmp_path / "prometheus.yml"
        config.write_text(yaml.safe_dump(prometheus_config(targets)))
        self.address = f"127.0.0.1:{free_port()}"
        self.process = subprocess.Popen(
            [
                executable,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address={self.address}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        wait_for(lambda: self._ready(), "Prometheus did not start")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(self.process.stderr.read().decode()[-3000:])
        try:
            with urllib.request.urlopen(f"http://{self.address}/-/ready", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def api(self, path: str, **params: str) -> dict:
        url = f"http://{self.address}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as refused:  # a query Prometheus cannot run: its error, shown
            return json.loads(refused.read())

    def query(self, expr: str) -> list[dict]:
        answer = self.api("query", query=expr)
        assert answer["status"] == "success", f"{expr}: {answer.get('error')}"
        return answer["data"]["result"]

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def __enter__(self) -> "Prometheus":
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(10)
        self.process.stderr.close()


def wait_for(condition: Callable[[], bool], failure: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.25)


def order(server: str, key: str, quantity: int) -> int:
    body = json.dumps({"ticker": "ACME", "type": "buy", "quantity": quantity}).encode()
    request = urllib.request.Request(
        f"http://{server}/api/transactions",
        data=body,
        method="POST",
        headers={"Authorization": f"Token {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code


def rules(prometheus: Prometheus) -> dict[str, dict]:
    groups = prometheus.api("rules")["data"]["groups"]
    return {rule["name"]: rule for group in groups for rule in group["rules"]}


def test_the_dashboard_and_the_alerts_show_a_live_event(company, team, tmp_path):
    from websockets.sync.client import connect

    key = Token.objects.create(user=team.user).key
    market_open(by=None)
    web_port, scheduler_port = free_port(), free_port()
    metrics = {"METRICS_TOKEN": METRICS_TOKEN, "METRICS_ALLOWED_CIDR": ""}
    targets = {"brainstorm": f"127.0.0.1:{web_port}", "brainstorm-scheduler": f"127.0.0.1:{scheduler_port}"}
    scheduled_prices = 'brainstorm_events_broadcast_total{job="brainstorm-scheduler", type="price"}'

    with Prometheus(tmp_path, targets) as prometheus:
        with (
            daphne_server(web_port, **metrics) as web,
            scheduler_process(metrics_port=scheduler_port, **metrics),
            connect(f"ws://{web}/api/ws?token={TOKEN}", open_timeout=10) as overlay,
        ):
            assert json.loads(overlay.recv(timeout=10))["type"] == "snapshot"
            # Each counter is scraped at its first value before it moves again: a rate needs two.
            assert order(web, key, 10) == 201
            assert order(web, key, 1_000_000) == 409  # 10,000,000 for 100,000 of cash
            due_cue("price", timezone.now(), ticker=company.ticker, price="10.50")
            wait_for(lambda: prometheus.value("sum(brainstorm_trades_executed_total)") == 1, "no trade scraped")
            wait_for(lambda: prometheus.value(f"sum({scheduled_prices})") == 1, "no scheduled price change scraped")
            assert order(web, key, 5) == 201
            due_cue("price", timezone.now(), ticker=company.ticker, price="11.00")
            wait_for(
                lambda: (
                    (prometheus.value("sum(rate(brainstorm_trades_executed_total[1m]))") or 0) > 0
                    and (prometheus.value(f"sum(rate({scheduled_prices}[1m]))") or 0) > 0
                ),
                "the trades and the scheduler's price changes never showed as a rate",
            )
            dashboard = json.loads(DASHBOARD.read_text())
            panels = {
                panel["title"]: [prometheus.query(target["expr"]) for target in panel["targets"]]
                for panel in dashboard["panels"]
            }
            by_rule = rules(prometheus)

        # Every panel ran; the health row shows this event as it was.
        assert number(panels["Web servers up"][0]) == 1
        assert number(panels["Trades / s"][0]) > 0
        assert number(panels["Server errors / s"][0]) == 0
        assert number(panels["Open WebSockets"][0]) == 1
        assert number(panels["Scheduler lag"][0]) < 5
        executed, refused = panels["Orders: executed by side, refused by code"]
        assert [series["metric"]["side"] for series in executed] == ["buy"]
        assert [series["metric"]["code"] for series in refused] == ["insufficient_funds"]
        live_events = {series["metric"]["type"] for series in panels["Live events / s by type (and lost)"][0]}
        assert {"price", "trade", "portfolio"} <= live_events
        assert panels["Scheduler"][1], "no scheduler heartbeat (it reaches the web server through the cache)"
        pool_in_use = {
            series["metric"]["instance"]: float(series["value"][1]) for series in panels["Database pool per server"][0]
        }
        assert set(pool_in_use) == set(targets.values())  # the web server's pool and the scheduler's
        assert pool_in_use[targets["brainstorm"]] == 0  # nothing under way; the scrape's own read not counted

        # Every alert rule evaluates without error, and none fires on a healthy event.
        assert set(by_rule) == {
            "ServerDown",
            "ServerErrors",
            "SlowRequests",
            "SchedulerLate",
            "SchedulerStopped",
            "LiveEventsLost",
            "DatabasePoolExhausted",
            "JobsWaiting",
        }
        for name, rule in by_rule.items():
            assert (rule["health"], rule.get("lastError", "")) == ("ok", ""), name
            assert rule["state"] == "inactive", name

        # The web server is gone: its alert starts at once (pending, then firing after 30 s).
        wait_for(
            lambda: rules(prometheus)["ServerDown"]["state"] in ("pending", "firing"),
            "ServerDown did not notice the web server stop",
        )


def number(result: list[dict]) -> float:
    [series] = result
    return float(series["value"][1])

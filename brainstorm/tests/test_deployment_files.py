"""The deployment files agree with each other and with the server: the addresses the servers
trust are the proxy's and Prometheus', the dashboard and the alerts ask for metrics that exist."""

import json
import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

from common.metrics import SCRAPE_TIME_METRICS

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def address(service: str) -> str:
    return SERVICES[service]["networks"]["brainstorm"]["ipv4_address"]


def test_the_servers_believe_forwarded_addresses_from_the_proxy_only():
    app = COMPOSE["x-app"]["environment"]
    assert app["TRUSTED_PROXIES"] == address("proxy")
    assert app["METRICS_ALLOWED_CIDR"] == address("prometheus")
    assert "ports" not in SERVICES["web"]  # reached through the proxy only, so it can scale
    assert SERVICES["web"]["expose"] == ["8000"]


def test_the_proxy_and_prometheus_find_every_web_replica():
    caddyfile = (ROOT / "docker" / "Caddyfile").read_text()
    assert re.search(r"dynamic a web 8000\b", caddyfile)
    job = scrape_jobs()["brainstorm"]
    assert job["metrics_path"] == "/metrics"
    assert job["dns_sd_configs"] == [{"names": ["web"], "type": "A", "port": 8000, "refresh_interval": "10s"}]


def test_prometheus_scrapes_the_scheduler_on_its_metrics_port():
    port = COMPOSE["x-app"]["environment"]["SCHEDULER_METRICS_PORT"]
    assert SERVICES["scheduler"]["expose"] == [port]
    script = (ROOT / "docker" / "entrypoint.sh").read_text()
    assert "exec python manage.py run_scheduler" in script  # which reads SCHEDULER_METRICS_PORT
    job = scrape_jobs()["brainstorm-scheduler"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"] == [{"targets": [f"scheduler:{port}"]}]


def scrape_jobs() -> dict[str, dict]:
    prometheus = yaml.safe_load((ROOT / "docker" / "prometheus" / "prometheus.yml").read_text())
    return {job["job_name"]: job for job in prometheus["scrape_configs"]}


def test_the_container_migrates_one_replica_at_a_time_before_serving():
    script = (ROOT / "docker" / "entrypoint.sh").read_text()
    web = script[script.index("web)") : script.index(";;")]
    assert web.index("manage.py migrate_locked") < web.index("exec python -m brainstorm.serve")
    assert "manage.py migrate " not in web


def exported_samples() -> set[str]:
    """Every sample name the server's /metrics can show."""
    names = set()
    for family in REGISTRY.collect():
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}.get(family.type, [""])
        names |= {family.name + suffix for suffix in suffixes}
    return names | set(SCRAPE_TIME_METRICS)


def queried_metrics(expressions: list[str]) -> set[str]:
    return {name for expr in expressions for name in re.findall(r"\bbrainstorm_[a-z_]+", expr)}


def test_the_dashboard_asks_only_for_metrics_the_server_exports():
    dashboard = json.loads((ROOT / "docker" / "grafana" / "dashboards" / "brainstorm.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    asked = queried_metrics(expressions)
    assert len(asked) >= 10
    assert asked <= exported_samples(), asked - exported_samples()


def test_the_alerts_ask_only_for_metrics_the_server_exports():
    rules = yaml.safe_load((ROOT / "docker" / "prometheus" / "alerts.yml").read_text())
    expressions = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    asked = queried_metrics(expressions)
    assert asked
    assert asked <= exported_samples(), asked - exported_samples()


def test_the_fixed_addresses_are_outside_the_range_docker_hands_out():
    import ipaddress

    [pool] = COMPOSE["networks"]["brainstorm"]["ipam"]["config"]
    subnet, automatic = ipaddress.ip_network(pool["subnet"]), ipaddress.ip_network(pool["ip_range"])
    for service in ("proxy", "prometheus"):
        fixed = ipaddress.ip_address(address(service))
        assert fixed in subnet
        assert fixed not in automatic

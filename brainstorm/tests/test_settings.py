"""Start-up refuses insecure or broken configuration, with a message that says what to fix."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k" * 50


def start(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "ALLOWED_CIDR", "TRUSTED_PROXIES"}}
    clean.update({"DJANGO_SETTINGS_MODULE": "brainstorm.settings", "BRAINSTORM_IGNORE_DOTENV": "true", **env})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=clean, capture_output=True, text=True
    )


@pytest.mark.parametrize("key", ["", "django-insecure-" + "x" * 40, "short"])
def test_production_start_refuses_a_missing_or_weak_secret_key(key):
    result = start(DEBUG="false", SECRET_KEY=key)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_start_with_a_real_secret_key_succeeds():
    result = start(DEBUG="false", SECRET_KEY=GOOD_KEY)
    assert result.returncode == 0, result.stderr


def test_an_invalid_allowed_range_stops_start_up():
    result = start(SECRET_KEY=GOOD_KEY, ALLOWED_CIDR="10.0.0.0/8,not-a-network")
    assert result.returncode != 0
    assert "ALLOWED_CIDR: 'not-a-network' is not an IP address or range" in result.stderr


def test_ipv4_and_ipv6_ranges_are_accepted():
    result = start(SECRET_KEY=GOOD_KEY, ALLOWED_CIDR="10.0.0.0/8, 2001:db8::/32", TRUSTED_PROXIES="127.0.0.1")
    assert result.returncode == 0, result.stderr

"""`manage.py check --deploy` finds nothing to warn about with production settings."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def check_deploy(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    # Only what a production start would have: no developer's DEBUG, keys or hosts leak in.
    base = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    base.update(
        {
            "DJANGO_SETTINGS_MODULE": "brainstorm.settings",
            "BRAINSTORM_IGNORE_DOTENV": "true",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "brainstorm.example.org",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            **env,
        }
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = check_deploy(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_check_deploy_is_clean_behind_a_proxy_with_every_lock_on(tmp_path):
    result = check_deploy(
        tmp_path,
        TRUSTED_PROXIES="10.0.0.1",
        ALLOWED_CIDR="10.0.0.0/8",
        CSRF_TRUSTED_ORIGINS="https://brainstorm.example.org",
        OVERLAY_TOKEN=secrets.token_urlsafe(32),
        SEB_BROWSER_EXAM_KEYS="a" * 64,
        SEB_CONFIG_KEYS="b" * 64,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_check_deploy_would_report_a_weak_setting(tmp_path):
    # The check is live: the same start with HSTS off is reported.
    result = check_deploy(tmp_path, SECURE_HSTS_SECONDS="0")
    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr

"""A process started as production starts one: the real settings module, DEBUG off, and nothing
of the developer's environment (no .env, no DATABASE_URL or REDIS_URL, no keys)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def production_env(**env: str) -> dict[str, str]:
    clean = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    clean.update(
        {
            "DJANGO_SETTINGS_MODULE": "brainstorm.settings",
            "BRAINSTORM_IGNORE_DOTENV": "true",
            "DEBUG": "false",
            "SECRET_KEY": "production-shaped-test-key-0123456789-abcdefghij",
            "ALLOWED_HOSTS": "testserver",
            **env,
        }
    )
    return clean


def run_python(script: str, **env: str) -> subprocess.CompletedProcess:
    """`script` in a production-shaped process; fails the test if it fails."""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=production_env(**env), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result

"""The layers (docs/architecture.md) as `make lint` checks them with import-linter: kept by the
code as it is, and broken by one import the wrong way."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("brainstorm", "organisers", "newsroom", "market", "accounts", "overlay", "common")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The product's packages, copied (their Python files only) with its pyproject.toml."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc", "__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_code_keeps_the_layers(tree):
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout
    assert "KEPT" in result.stdout


@pytest.mark.parametrize(
    "module, wrong_way, broken",
    [
        ("market/selectors.py", "from organisers import results", "market is not allowed to import organisers"),
        ("common/logs.py", "import market.models", "common is not allowed to import market"),
        ("overlay/hub.py", "from accounts import models", "overlay is not allowed to import accounts"),
        ("accounts/services.py", "from market import selectors", "accounts is not allowed to import market"),
    ],
)
def test_one_import_the_wrong_way_breaks_the_contract(tree, module, wrong_way, broken):
    path = tree / module
    path.write_text(path.read_text() + f"\n{wrong_way}  # the wrong way\n")
    result = lint_imports(tree)
    assert result.returncode == 1
    assert broken in " ".join(result.stdout.split())

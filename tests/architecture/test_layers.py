"""The floors of the house (pyproject ``[tool.importlinter]``, README
"Architecture"): the check ``make lint`` runs passes on the code as it is, and
fails, naming the import, when a floor imports one above it."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
FLOORS = ["config", "demo", "outcomes", "crf", "randomization", "perform"]


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own tool, fixed arguments
        [str(LINT_IMPORTS), "--config", str(cwd / "pyproject.toml"), "--no-cache"],
        cwd=cwd,
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def house_copy(tmp_path):
    """The project's packages and pyproject.toml, copied to play with."""
    for package in [*FLOORS, "infrastructure"]:
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "templates", "static"),
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_code_keeps_its_floors():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "upward"),
    [
        ("infrastructure/outbox.py", "perform.models"),
        ("perform/selectors.py", "randomization.models"),
        ("perform/views.py", "crf.forms.hub"),
        ("randomization/selectors.py", "crf.models"),
        ("randomization/services/__init__.py", "outcomes.derivation"),
        ("crf/forms/services.py", "outcomes.inputs"),
        ("outcomes/derivation.py", "demo.trial"),
        ("crf/forms/views.py", "config.urls"),
    ],
)
def test_an_upward_import_breaks_the_check(house_copy, module, upward):
    path = house_copy / module
    path.write_text(path.read_text() + f"\nimport {upward}  # noqa\n")
    result = lint_imports(house_copy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "0 kept, 1 broken" in result.stdout
    importer = module.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
    assert f"{importer} -> {upward}" in result.stdout

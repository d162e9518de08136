"""STYLE.md: a module past about 400 lines is split along the domain. Held
here for the code (migrations are generated; tests may run longer)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [
    "config",
    "infrastructure",
    "perform",
    "randomization",
    "crf",
    "outcomes",
    "demo",
    "scripts",
    "benchmarks",
]
LIMIT = 420  # "about 400"


def test_no_module_of_the_code_is_past_the_split_point():
    too_long = {
        str(path.relative_to(ROOT)): lines
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
        and (lines := len(path.read_text().splitlines())) > LIMIT
    }
    assert not too_long, f"split these along the domain: {too_long}"

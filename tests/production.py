"""Run Python in a child process under the production settings
(``config.settings.base``, not the test settings), as a server would start."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What the test run sets for itself and a production start must not inherit.
_TEST_ONLY = {
    "DEBUG",
    "SECRET_KEY",
    "DJANGO_SETTINGS_MODULE",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "STATIC_ROOT",
}


def python(*args: str, **env: str) -> subprocess.CompletedProcess:
    """``python *args`` in the project directory with ``env`` on top of this
    process's environment, less the test-only variables."""
    environment = {k: v for k, v in os.environ.items() if k not in _TEST_ONLY}
    environment.update(env)
    return subprocess.run(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return python("manage.py", *args, **env)


def production_python(*args: str, **env: str) -> subprocess.CompletedProcess:
    """``python *args`` with DEBUG off and a real secret key, as in production."""
    return python(
        *args, **{"DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(64), **env}
    )

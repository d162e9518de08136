"""The test database's two login roles (README "Database roles").

``make test`` exports ``DATABASE_URL`` (the application role) and
``DATABASE_OWNER_URL`` (the owner). The test database is created and migrated
as the owner, then every test runs as the application role, as the web server
and workers do in production: a test that needs a privilege the application
lacks fails here as it would there.
"""

import contextlib

import psycopg2
from django.conf import settings
from django.db import connections


def use_role(role: str, *, alias: str = "default") -> None:
    """Reconnect ``alias`` as ``role`` ("app" or "owner") from the next query."""
    connection = connections[alias]
    connection.close()
    connection.settings_dict.update(settings.DATABASE_ROLES[role])


@contextlib.contextmanager
def role_connection(role: str, *, alias: str = "default", autocommit=False):
    """A separate psycopg2 connection to the test database as ``role``."""
    params = connections[alias].settings_dict
    credentials = settings.DATABASE_ROLES[role]
    connection = psycopg2.connect(
        dbname=params["NAME"],
        host=params["HOST"] or None,
        port=params["PORT"] or None,
        user=credentials["USER"],
        password=credentials["PASSWORD"] or None,
    )
    connection.autocommit = autocommit
    try:
        yield connection
    finally:
        connection.close()

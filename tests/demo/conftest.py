"""The demo's fixtures: seeding runs as the database owner role, as ``make
seed`` and ``make run`` do (only the owner may stamp the simulated moments on
the audit trail, see ``demo.clock``)."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from tests.dbsupport.roles import use_role

# The demo's present in these tests: a fixed day, so the same seed gives the
# same trial whenever the tests run.
TODAY = datetime.date(2026, 11, 30)
SMALL = {"sites": 3, "participants": 60, "seed": 7, "today": TODAY}
DEMO_PASSWORD = "demo-pass-for-tests-42"


def run_seed(**overrides) -> str:
    out = StringIO()
    options = {**SMALL, "password": DEMO_PASSWORD, **overrides}
    call_command(
        "seed_demo", no_progress=True, stdout=out, stderr=StringIO(), **options
    )
    return out.getvalue()


@pytest.fixture
def as_owner(django_db_setup, django_db_blocker):
    """The test's database connection as the owner role (list it before
    ``db``, so the test's transaction opens on the owner's connection)."""
    with django_db_blocker.unblock():
        use_role("owner")
    yield
    with django_db_blocker.unblock():
        use_role("app")


@pytest.fixture(scope="class")
def seeded_once(django_db_setup, django_db_blocker):
    """One small demo shared by a class's tests, which only read it; rolled
    back after the class's last test (seeding once keeps the files fast)."""
    with django_db_blocker.unblock():
        use_role("owner")
        try:
            with transaction.atomic():
                yield run_seed()
                transaction.set_rollback(True)
        finally:
            use_role("app")


@pytest.fixture
def seeded(seeded_once, db):
    return seeded_once

"""Shared fixtures: two sites and one user per PROTOCOL §2 role."""

import datetime
import importlib
from zoneinfo import ZoneInfo

import pytest

from perform import roles, services
from perform.models import EligibilityCriterion, Participant
from tests.clock import today
from tests.dbsupport.roles import use_role
from tests.factories import PASSWORD, SiteFactory, UserFactory, user_with_role


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def reference_data(db):
    """The rows data migrations create (role groups, eligibility checklist).

    Transactional tests (live server, threads) end with a flush that empties
    every table; the groups come back through post_migrate, the checklist here.
    """
    if not EligibilityCriterion.objects.exists():
        migration = importlib.import_module(
            "perform.migrations.0002_roles_and_eligibility_checklist"
        )
        for code, kind, order, text in migration.CHECKLIST:
            EligibilityCriterion.objects.create(
                code=code, kind=kind, order=order, text=text
            )


@pytest.fixture
def site_a(reference_data):
    return SiteFactory(code="TOR", name="Toronto General", time_zone="America/Toronto")


@pytest.fixture
def site_b(reference_data):
    return SiteFactory(
        code="HAM",
        name="Hamburg-Eppendorf",
        country="Germany",
        time_zone="Europe/Berlin",
    )


@pytest.fixture
def users(db, site_a, site_b):
    """One user per role; site staff at site A, ``coordinator2`` at site B."""
    result = {
        "coordinator": user_with_role(
            roles.SITE_COORDINATOR, username="coordinator", sites=[site_a]
        ),
        "coordinator2": user_with_role(
            roles.SITE_COORDINATOR, username="coordinator2", sites=[site_b]
        ),
        "investigator": user_with_role(
            roles.SITE_INVESTIGATOR, username="investigator", sites=[site_a]
        ),
        "datamanager": user_with_role(roles.DATA_MANAGER, username="datamanager"),
        "randomizer": user_with_role(roles.RANDOMIZER, username="randomizer"),
        "statistician": user_with_role(roles.STATISTICIAN, username="statistician"),
        "dsmb": user_with_role(roles.DSMB_MEMBER, username="dsmb"),
        "admin": user_with_role(roles.ADMINISTRATOR, username="admin"),
    }
    result["datamanager"].is_staff = True
    result["datamanager"].save()
    result["admin"].is_staff = True
    result["admin"].save()
    # The system owner: a superuser for account administration only.
    result["owner"] = UserFactory(username="owner", is_staff=True, is_superuser=True)
    return result


def eligible_answers() -> dict[str, bool]:
    """Checklist answers that make a patient eligible."""
    return {
        c.code: c.kind == EligibilityCriterion.Kind.INCLUSION
        for c in EligibilityCriterion.objects.filter(is_active=True)
    }


@pytest.fixture
def screen(db):
    """Screen a patient through the service: ``screen(actor, site, **overrides)``."""

    def _screen(actor, site, **overrides):
        kwargs = {
            "screening_date": today() - datetime.timedelta(days=1),
            "age_at_screening": 64,
            "sex": "female",
            "fracture_status": "impending",
            "answers": eligible_answers(),
        }
        kwargs.update(overrides)
        return services.participant_screen(actor=actor, site=site, **kwargs)

    return _screen


@pytest.fixture(autouse=True)
def no_server_errors():
    """Fail any test during which a request raised an unhandled exception (a 500).

    Covers the test client and live-server threads alike: both send Django's
    ``got_request_exception`` signal.
    """
    from django.core.signals import got_request_exception

    errors = []

    def record(sender, request=None, **kwargs):
        errors.append(getattr(request, "path", "?"))

    got_request_exception.connect(record, weak=False)
    yield
    got_request_exception.disconnect(record)
    assert not errors, f"requests raised server errors: {errors}"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """Create and migrate the test database as the owner role."""
    use_role("owner")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Then run every test as the application role (tests/dbsupport/roles.py);
    the owner drops the database at the end."""
    use_role("app")
    yield
    use_role("owner")


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory):
    """A STATIC_ROOT filled by ``collectstatic`` under the production settings
    (WhiteNoise's manifest storage), as a deployment has it."""
    from tests.production import manage

    root = tmp_path_factory.mktemp("static")
    result = manage(
        "collectstatic",
        "--noinput",
        "--verbosity",
        "0",
        DEBUG="false",
        SECRET_KEY="collectstatic-only-" + "s3cr3t" * 10,
        STATIC_ROOT=str(root),
    )
    assert result.returncode == 0, result.stderr
    assert (root / "staticfiles.json").is_file()
    return root


@pytest.fixture
def randomize(users, site_a, site_b):
    """``randomize(participant)``: consent an eligible participant (screened
    through the service) and randomize them today, through the services, as
    clinical forms need (PROTOCOL §7). The allocation list (sites A and B) is
    made and activated on first use."""
    from perform import services as core
    from randomization import services as rnd
    from randomization.models import Slot

    active = []

    def _randomize(participant, *, coordinator=None, on=None):
        """``on``: consented and randomized on that past date instead (the
        allocation at noon site time; screening moved back to it if later), so
        forms dated before today keep PROTOCOL §7's rules (surgery on or
        after randomization, no date before screening)."""
        day = on or today()
        if participant.screening_date > day:
            Participant.objects.filter(pk=participant.pk).update(screening_date=day)
            participant.screening_date = day
        core.participant_consent_record(
            actor=coordinator or users["coordinator"],
            participant=participant,
            decision_date=day,
            form_version="v1",
            obtained_by="Dr A",
        )
        if not active:
            allocation_list = rnd.list_generate(
                actor=users["statistician"],
                name="L",
                seed=1,
                slots_per_stratum=24,
                sites=[site_a, site_b],
            )
            active.append(
                rnd.list_activate(
                    actor=users["statistician"], allocation_list=allocation_list
                )
            )
        rnd.participant_randomize(actor=users["randomizer"], participant=participant)
        if on is not None:
            zone = ZoneInfo(participant.site.time_zone)
            Slot.objects.filter(participant=participant).update(
                allocated_at=datetime.datetime.combine(on, datetime.time(12), zone)
            )
        participant.refresh_from_db()
        return participant

    return _randomize


@pytest.fixture
def randomized(users, site_a, screen, randomize):
    """A consented participant at site A, randomized today through the service."""
    return randomize(screen(users["coordinator"], site_a))


# --- real workers and a real SMTP server (tests/workers.py) ---------------------
@pytest.fixture(scope="module")
def smtp():
    """A real SMTP server (aiosmtpd) for the module: ``(mailbox, port)``."""
    from tests.workers import smtp_server

    with smtp_server() as server:
        yield server


@pytest.fixture
def mailbox(smtp):
    """What the SMTP server received, emptied for each test."""
    mailbox, _port = smtp
    mailbox.reset()
    return mailbox


@pytest.fixture
def worker_env():
    """Extra environment of the workers ``workers()`` starts (a module may
    override this fixture)."""
    return {}


@pytest.fixture
def workers(smtp, tmp_path, transactional_db, worker_env):
    """Start real ``celery worker`` processes on demand (``workers()``), after
    the test has published what they need; every one is stopped afterwards."""
    from tests.workers import WorkerProcess, publishing_to_queue, queue_purge

    _mailbox, port = smtp
    started = []
    queue_purge()

    def start():
        worker = WorkerProcess(smtp_port=port, log_dir=tmp_path, env=worker_env)
        worker.started = len(started)
        started.append(worker.start())
        return worker

    with publishing_to_queue():
        yield start
    for worker in started:
        worker.stop()

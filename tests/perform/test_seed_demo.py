"""seed_demo: a realistic, reproducible demo trial built through the services."""

import datetime
from collections import defaultdict
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import RequestFactory
from django.utils import timezone
from pghistory.models import Events

from perform import demo, roles
from perform.models import (
    ConsentRecord,
    EligibilityAnswer,
    Participant,
    ParticipantStatus,
    ParticipantStatusChange,
    Site,
    User,
)
from perform.selectors import participant_audit_history
from perform.services import ALLOWED_TRANSITIONS
from tests.factories import SiteFactory, UserFactory

S = ParticipantStatus
SMALL = {"sites": 3, "participants": 60, "seed": 7}
DEMO_PASSWORD = "demo-pass-for-tests-42"


def run_seed(**overrides) -> str:
    out = StringIO()
    options = {**SMALL, "password": DEMO_PASSWORD, **overrides}
    call_command(
        "seed_demo", no_progress=True, stdout=out, stderr=StringIO(), **options
    )
    return out.getvalue()


@pytest.fixture
def seeded(db):
    return run_seed()


def row_counts() -> dict[str, int]:
    models = [
        Site,
        User,
        Participant,
        ParticipantStatusChange,
        ConsentRecord,
        EligibilityAnswer,
    ]
    counts = {m.__name__: m.objects.count() for m in models}
    counts["events"] = Events.objects.count()
    return counts


def can_log_in(username: str, password: str) -> bool:
    request = RequestFactory().post("/accounts/login/")
    return authenticate(request, username=username, password=password) is not None


def test_every_participant_status_occurs_with_small_numbers(seeded):
    statuses = set(Participant.objects.values_list("status", flat=True))
    assert statuses == set(S.values)
    assert Participant.objects.count() == SMALL["participants"]
    for status in S:
        assert status.label in seeded


def test_status_history_starts_screened_follows_protocol_and_ends_at_status(seeded):
    history = defaultdict(list)
    for change in ParticipantStatusChange.objects.order_by("changed_at", "id"):
        history[change.participant_id].append(change)
    for participant in Participant.objects.all():
        changes = history[participant.pk]
        assert (changes[0].from_status, changes[0].to_status) == ("", S.SCREENED)
        for before, after in zip(changes, changes[1:], strict=False):
            assert after.from_status == before.to_status, participant
            assert after.to_status in ALLOWED_TRANSITIONS[after.from_status]
        assert changes[-1].to_status == participant.status, participant


def test_study_ids_are_consecutive_per_site_from_0001(seeded):
    sites = list(Site.objects.all())
    assert len(sites) == SMALL["sites"]
    for site in sites:
        rows = list(site.participants.order_by("sequence"))
        assert rows, f"{site.code} has no participants"
        assert [p.sequence for p in rows] == list(range(1, len(rows) + 1))
        assert [p.study_id for p in rows] == [
            f"PRF-{site.code}-{n:04d}" for n in range(1, len(rows) + 1)
        ]
        assert site.last_participant_number == len(rows)
        # Numbers follow screening order, as they would in real use.
        dates = [p.screening_date for p in rows]
        assert dates == sorted(dates)


def test_participants_are_screened_and_audited_as_their_sites_coordinator(seeded):
    for participant in Participant.objects.select_related("site", "created_by"):
        actor = participant.created_by
        assert actor.groups.filter(name=roles.SITE_COORDINATOR).exists()
        assert actor.memberships.filter(site=participant.site).exists()
        first_event = participant_audit_history(participant)[0]
        assert first_event.username == actor.username


def test_clinical_records_are_consistent_with_each_status(seeded):
    today = timezone.localdate()
    consent_reached = {
        S.CONSENTED,
        S.RANDOMIZED,
        S.WITHDRAWN,
        S.LOST_TO_FOLLOW_UP,
        S.DIED,
        S.COMPLETED,
    }
    for p in Participant.objects.select_related("site").prefetch_related(
        "consents", "eligibility_answers__criterion", "status_changes"
    ):
        assert p.site.activation_date <= p.screening_date <= today
        assert 18 <= p.age_at_screening <= 100
        answers = list(p.eligibility_answers.all())
        unmet = [a for a in answers if a.criterion.is_met_by(a.answer) is False]
        missing = [a for a in answers if a.answer is None]
        consents = list(p.consents.all())
        if p.status == S.SCREENED:
            assert missing and not unmet
        elif p.status == S.INELIGIBLE:
            assert unmet
            assert p.status_changes.all()[1].reason.strip()
            assert p.screening_notes.strip()
        else:
            assert not unmet and not missing, p
        if p.status == S.DECLINED:
            assert [c.decision for c in consents] == [ConsentRecord.Decision.DECLINED]
        elif p.status in consent_reached:
            assert [c.decision for c in consents] == [ConsentRecord.Decision.GIVEN]
            assert consents[0].form_version
        else:
            assert consents == []
        for consent in consents:
            assert p.screening_date <= consent.decision_date <= today


def test_demo_users_have_their_roles_sites_and_password(seeded):
    expected_roles = {
        "coordinator": roles.SITE_COORDINATOR,
        "coordinator2": roles.SITE_COORDINATOR,
        "investigator": roles.SITE_INVESTIGATOR,
        "datamanager": roles.DATA_MANAGER,
        "randomizer": roles.RANDOMIZER,
        "statistician": roles.STATISTICIAN,
        "dsmb": roles.DSMB_MEMBER,
        "admin": roles.ADMINISTRATOR,
    }
    for username, role in expected_roles.items():
        user = User.objects.get(username=username)
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert user.email == f"{username}@example.org"
        assert user.first_name and user.last_name
        assert can_log_in(username, DEMO_PASSWORD), username
    site_codes = {
        username: list(
            User.objects.get(username=username).sites.values_list("code", flat=True)
        )
        for username in expected_roles
    }
    assert site_codes["coordinator"] == ["TOR"]
    assert site_codes["investigator"] == ["TOR"]
    assert len(site_codes["coordinator2"]) == 1
    assert site_codes["coordinator2"] != site_codes["coordinator"]
    for username in ("datamanager", "randomizer", "statistician", "dsmb", "admin"):
        assert site_codes[username] == []
    datamanager = User.objects.get(username="datamanager")
    admin = User.objects.get(username="admin")
    assert datamanager.is_staff and not datamanager.is_superuser
    assert admin.is_staff and not admin.is_superuser  # no trial-data shortcut
    assert not User.objects.get(username="coordinator").is_staff
    assert not can_log_in("coordinator", demo.DEFAULT_PASSWORD)
    assert DEMO_PASSWORD in seeded
    assert "http://127.0.0.1:8000" in seeded
    for site in Site.objects.all():
        assert site.staff.filter(groups__name=roles.SITE_COORDINATOR).exists(), site


def test_default_password_is_printed_and_works(db):
    output = run_seed(participants=12, password=demo.DEFAULT_PASSWORD)
    assert demo.DEFAULT_PASSWORD in output
    assert can_log_in("coordinator2", demo.DEFAULT_PASSWORD)


def test_sites_are_valid_and_targets_add_up_to_the_trial_target(seeded):
    sites = list(Site.objects.all())
    for site in sites:
        site.full_clean()
        assert datetime.date(2025, 2, 1) <= site.activation_date
        assert site.activation_date <= datetime.date(2026, 6, 30)
        assert site.target_enrolment > 0
    assert (
        sum(s.target_enrolment for s in sites) == (settings.TRIAL["TARGET_ENROLMENT"])
    )
    assert [s.code for s in Site.objects.order_by("activation_date")] == [
        s.code for s in demo.SITE_CATALOGUE[: SMALL["sites"]]
    ]


def test_catalogue_has_twenty_distinct_sites_in_two_continents():
    codes = [s.code for s in demo.SITE_CATALOGUE]
    assert len(codes) >= 20
    assert len(set(codes)) == len(codes)
    regions = {s.time_zone.split("/")[0] for s in demo.SITE_CATALOGUE}
    assert regions == {"America", "Europe"}


def test_paused_site_keeps_its_participants_but_stops_recruiting(db):
    run_seed(sites=8, participants=40)
    paused = [s for s in demo.SITE_CATALOGUE[:8] if not s.is_active]
    assert paused
    for demo_site in paused:
        site = Site.objects.get(code=demo_site.code)
        assert not site.is_active
        assert site.participants.exists()
    assert Site.objects.filter(is_active=True).count() == 8 - len(paused)


def test_second_run_changes_nothing(seeded):
    before = row_counts()
    statuses_before = list(Participant.objects.values_list("study_id", "status"))
    output = run_seed(seed=99, participants=30)
    assert "already present" in output
    assert row_counts() == before
    assert list(Participant.objects.values_list("study_id", "status")) == (
        statuses_before
    )


def test_refuses_to_touch_a_database_that_already_has_a_site(db):
    SiteFactory(code="XYZ")
    users_before = User.objects.count()
    output = run_seed()
    assert "already present" in output
    assert Participant.objects.count() == 0
    assert User.objects.count() == users_before


class _Rollback(Exception):
    pass


def seed_and_capture(**overrides) -> list[tuple]:
    captured = []
    with pytest.raises(_Rollback), transaction.atomic():
        run_seed(**overrides)
        captured = list(
            Participant.objects.order_by("study_id").values_list(
                "study_id", "status", "age_at_screening", "sex", "screening_date"
            )
        )
        raise _Rollback
    assert not Site.objects.exists()
    return captured


@pytest.mark.django_db
def test_same_seed_gives_the_same_trial_and_another_seed_a_different_one():
    first = seed_and_capture(seed=7)
    second = seed_and_capture(seed=7)
    other = seed_and_capture(seed=8)
    assert len(first) == SMALL["participants"]
    assert first == second
    assert other != first


@pytest.mark.django_db
@pytest.mark.parametrize("sites", [1, len(demo.SITE_CATALOGUE) + 1])
def test_out_of_range_site_count_is_an_error_and_writes_nothing(sites):
    with pytest.raises(CommandError, match="--sites"):
        run_seed(sites=sites)
    assert not Site.objects.exists()
    assert not User.objects.exists()


@pytest.mark.django_db
def test_existing_demo_username_aborts_without_writing():
    UserFactory(username="admin")
    with pytest.raises(CommandError, match="admin"):
        run_seed()
    assert not Site.objects.exists()
    assert not Participant.objects.exists()
    assert User.objects.count() == 1

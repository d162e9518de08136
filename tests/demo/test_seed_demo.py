"""seed_demo: a realistic, reproducible demo trial built through the services."""

import datetime
from collections import defaultdict

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.management import CommandError
from django.db import transaction
from django.test import RequestFactory
from django.utils import timezone
from pghistory.models import Events

from crf.forms.registry import FORMS
from crf.forms.selectors import fracture_status_disagreements, participant_schedule
from crf.models import (
    AdverseEvent,
    Baseline,
    DataQuery,
    Death,
    FollowUp,
    FormStatus,
    LocalRecurrence,
    Operative,
    ProtocolDeviation,
    Reoperation,
    Withdrawal,
)
from crf.queries.automatic import FRACTURE_CHECK, fracture_status_problems
from crf.schedule.visits import OVERDUE
from demo import trial as demo
from demo.fingerprint import demo_fingerprint
from infrastructure.models import OutboundEmail
from infrastructure.outbox import emails_due
from perform import roles
from perform.audit_trail import participant_audit_history
from perform.eligibility import participant_eligibility
from perform.models import (
    ConsentRecord,
    EligibilityAnswer,
    EligibilityCriterion,
    Participant,
    ParticipantStatus,
    ParticipantStatusChange,
    Site,
    User,
)
from perform.selectors import criteria_active
from perform.services import ALLOWED_TRANSITIONS
from randomization import services as randomization_services
from randomization import tasks as randomization_tasks
from randomization.models import AllocationList, ListEvent, Slot
from randomization.selectors import randomization_dates
from randomization.services.emails import allocation_emails_queue
from tests.demo.conftest import DEMO_PASSWORD, SMALL, TODAY, run_seed
from tests.factories import SiteFactory, UserFactory

S = ParticipantStatus
RANDOMIZED_OR_LATER = {
    S.RANDOMIZED,
    S.WITHDRAWN,
    S.LOST_TO_FOLLOW_UP,
    S.DIED,
    S.COMPLETED,
}


COMPLETE = {FormStatus.COMPLETE, FormStatus.SIGNED}


def forms_projection() -> list[tuple]:
    """Every CRF as (form, study id, status, its first few values): what the
    same seed must reproduce."""
    rows = []
    for key, spec in FORMS.items():
        names = [n for n in spec.fields if not n.startswith(("tess_", "bpi_"))][:6]
        for form in spec.model.objects.select_related("participant"):
            values = tuple(getattr(form, n) for n in names)
            rows.append((key, form.participant.study_id, form.status, values))
    return sorted(rows, key=repr)


def row_counts() -> dict[str, int]:
    models = [
        Site,
        User,
        Participant,
        ParticipantStatusChange,
        ConsentRecord,
        EligibilityAnswer,
        AllocationList,
        ListEvent,
    ]
    counts = {m.__name__: m.objects.count() for m in models}
    counts["allocations"] = Slot.objects.filter(participant__isnull=False).count()
    counts["events"] = Events.objects.count()
    return counts


def can_log_in(username: str, password: str) -> bool:
    request = RequestFactory().post("/accounts/login/")
    return authenticate(request, username=username, password=password) is not None


class _Rollback(Exception):
    pass


def seed_and_capture(**overrides) -> tuple[list[tuple], list[tuple]]:
    """(participants, allocations + forms) of a seed run that is then rolled
    back."""
    participants, allocations = [], []
    with pytest.raises(_Rollback), transaction.atomic():
        run_seed(**overrides)
        participants = list(
            Participant.objects.order_by("study_id").values_list(
                "study_id", "status", "age_at_screening", "sex", "screening_date"
            )
        )
        allocations = list(
            Slot.objects.filter(participant__isnull=False)
            .order_by("participant__study_id")
            .values_list("participant__study_id", "stratum__key", "sequence", "arm")
        )
        allocations += forms_projection()
        raise _Rollback
    assert not Site.objects.exists()
    assert not AllocationList.objects.exists()
    return participants, allocations


class TestSmallDemo:
    """Tests that read one shared small demo (``SMALL``)."""

    def test_every_participant_status_occurs_with_small_numbers(self, seeded):
        statuses = set(Participant.objects.values_list("status", flat=True))
        assert statuses == set(S.values)
        assert Participant.objects.count() == SMALL["participants"]
        for status in S:
            assert status.label in seeded

    def test_status_history_starts_screened_follows_protocol_and_ends_at_status(
        self, seeded
    ):
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

    def test_study_ids_are_consecutive_per_site_from_0001(self, seeded):
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

    def test_participants_are_screened_and_audited_as_their_sites_coordinator(
        self, seeded
    ):
        for participant in Participant.objects.select_related("site", "created_by"):
            actor = participant.created_by
            assert actor.groups.filter(name=roles.SITE_COORDINATOR).exists()
            assert actor.memberships.filter(site=participant.site).exists()
            # The participant's own first event is the screening one.
            first_event = next(
                e
                for e in participant_audit_history(participant)
                if e.model == "Participant"
            )
            assert first_event.username == actor.username

    def test_clinical_records_are_consistent_with_each_status(self, seeded):
        today = timezone.localdate()
        consent_reached = {
            S.CONSENTED,
            S.RANDOMIZED,
            S.WITHDRAWN,
            S.LOST_TO_FOLLOW_UP,
            S.DIED,
            S.COMPLETED,
        }
        criteria = criteria_active()
        for p in Participant.objects.select_related("site").prefetch_related(
            "consents", "eligibility_answers", "status_changes"
        ):
            assert p.site.activation_date <= p.screening_date <= today
            assert 18 <= p.age_at_screening <= 100
            eligibility = participant_eligibility(p, criteria=criteria)
            unmet, missing = eligibility.unmet_criteria, eligibility.missing
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
                assert [c.decision for c in consents] == [
                    ConsentRecord.Decision.DECLINED
                ]
            elif p.status in consent_reached:
                assert [c.decision for c in consents] == [ConsentRecord.Decision.GIVEN]
                assert consents[0].form_version
            else:
                assert consents == []
            for consent in consents:
                assert p.screening_date <= consent.decision_date <= today

    def test_demo_users_have_their_roles_sites_and_password(self, seeded):
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

    def test_sites_are_valid_and_targets_add_up_to_the_trial_target(self, seeded):
        sites = list(Site.objects.all())
        for site in sites:
            site.full_clean()
            assert datetime.date(2025, 2, 1) <= site.activation_date
            assert site.activation_date <= datetime.date(2026, 6, 30)
            assert site.target_enrolment > 0
        assert (
            sum(s.target_enrolment for s in sites)
            == (settings.TRIAL["TARGET_ENROLMENT"])
        )
        assert [s.code for s in Site.objects.order_by("activation_date")] == [
            s.code for s in demo.SITE_CATALOGUE[: SMALL["sites"]]
        ]

    def test_fingerprint_follows_the_data_not_the_moment_of_seeding(self, seeded):
        total, tables = demo_fingerprint()
        assert demo_fingerprint()[0] == total
        assert tables["perform_participant"][0] == SMALL["participants"]
        participant = Participant.objects.order_by("pk").first()
        with transaction.atomic():
            # What differs on every seeding is left out: a log-in time.
            User.objects.update(last_login=timezone.now())
            assert demo_fingerprint()[0] == total
            # What the demo wrote is in: a participant's notes.
            Participant.objects.filter(pk=participant.pk).update(
                screening_notes=participant.screening_notes + " (edited)"
            )
            changed, changed_tables = demo_fingerprint()
            transaction.set_rollback(True)
        assert changed != total
        assert changed_tables["perform_participant"] != tables["perform_participant"]
        assert changed_tables["perform_site"] == tables["perform_site"]

    def test_second_run_changes_nothing(self, seeded):
        before = row_counts()
        statuses_before = list(Participant.objects.values_list("study_id", "status"))
        output = run_seed(seed=99, participants=30)
        assert "already present" in output
        assert row_counts() == before
        assert list(Participant.objects.values_list("study_id", "status")) == (
            statuses_before
        )

    def test_statistician_generated_and_activated_one_list_that_verifies(self, seeded):
        allocation_list = AllocationList.objects.get()
        statistician = User.objects.get(username="statistician")
        assert allocation_list.status == AllocationList.Status.ACTIVE
        assert allocation_list.created_by == statistician
        assert allocation_list.activated_by == statistician
        assert allocation_list.seed is not None
        config = settings.RANDOMIZATION
        assert allocation_list.arms == config["ARMS"]
        assert allocation_list.ratio == config["RATIO"]
        assert allocation_list.block_sizes == sorted(config["BLOCK_SIZES"])
        assert allocation_list.factors == config["STRATIFICATION_FACTORS"]
        assert allocation_list.slots_per_stratum == config["SLOTS_PER_STRATUM"]
        # Every demo site has its strata.
        assert {s.site.code for s in allocation_list.strata.select_related("site")} == {
            s.code for s in Site.objects.all()
        }
        assert randomization_services.list_verify(
            allocation_list=allocation_list
        ).matches

    def test_every_randomized_participant_holds_exactly_one_slot_and_no_one_else(
        self, seeded
    ):
        holders = list(
            Slot.objects.filter(participant__isnull=False).values_list(
                "participant_id", flat=True
            )
        )
        assert len(holders) == len(set(holders))
        randomized = set(
            Participant.objects.filter(status__in=RANDOMIZED_OR_LATER).values_list(
                "pk", flat=True
            )
        )
        assert randomized
        assert set(holders) == randomized

    def test_allocations_were_made_by_the_randomizer_through_the_service(self, seeded):
        randomizer = User.objects.get(username="randomizer")
        for slot in Slot.objects.filter(participant__isnull=False).select_related(
            "participant__site", "stratum"
        ):
            participant = slot.participant
            assert slot.allocated_by == randomizer
            assert slot.allocated_at is not None
            # The slot is the one of the participant's stratum.
            assert slot.stratum.key == (
                f"{participant.site.code}|{participant.fracture_status}"
            )
            change = participant.status_changes.get(to_status=S.RANDOMIZED)
            assert change.from_status == S.CONSENTED
            assert change.changed_by == randomizer
            assert change.reason.startswith("Randomized in stratum")

    def test_slots_are_taken_consecutively_from_one_in_order_of_randomization(
        self, seeded
    ):
        consent_dates = dict(
            ConsentRecord.objects.filter(decision="given").values_list(
                "participant_id", "decision_date"
            )
        )
        used = defaultdict(list)
        for stratum_key, sequence, participant_id, allocated_at in (
            Slot.objects.filter(participant__isnull=False)
            .order_by("stratum__key", "sequence")
            .values_list("stratum__key", "sequence", "participant_id", "allocated_at")
        ):
            used[stratum_key].append((sequence, allocated_at))
            # Randomized after consent (the Methods Centre's day, in UTC).
            assert allocated_at.date() > consent_dates[participant_id]
        assert used
        for stratum_key, rows in used.items():
            sequences = [sequence for sequence, _ in rows]
            assert sequences == list(range(1, len(rows) + 1)), stratum_key
            moments = [moment for _, moment in rows]
            assert moments == sorted(moments), stratum_key

    def test_consented_participants_are_left_waiting_and_could_be_randomized(
        self, seeded
    ):
        waiting = list(Participant.objects.filter(status=S.CONSENTED))
        assert waiting
        assert not Slot.objects.filter(participant__in=waiting).exists()
        allocation_list = AllocationList.objects.get(
            status=AllocationList.Status.ACTIVE
        )
        for participant in waiting:
            assert participant.fracture_status
            assert (
                randomization_services.randomization_blockers(
                    participant, allocation_list.factors
                )
                == []
            )
        assert Participant.objects.filter(status=S.ELIGIBLE).exists()

    def test_every_randomized_participant_has_a_baseline_and_operated_ones_an_operative(
        self, seeded
    ):
        randomized = Participant.objects.filter(status__in=RANDOMIZED_OR_LATER)
        assert randomized.exists()
        randomized_on = randomization_dates(Participant.objects.all())
        operated = 0
        for p in randomized.prefetch_related("consents"):
            baseline = Baseline.objects.get(participant=p)
            assert baseline.status in COMPLETE
            assert baseline.fracture_status == p.fracture_status
            if p.fracture_status == "impending":
                items = [
                    baseline.mirels_site,
                    baseline.mirels_pain,
                    baseline.mirels_lesion,
                    baseline.mirels_size,
                ]
                assert sum(items) == baseline.mirels_total >= 9
            assert baseline.msts_total is not None and baseline.eq5d_profile
            # Entered before randomization (the randomize page reads it).
            change = p.status_changes.get(to_status=S.RANDOMIZED)
            assert baseline.created_at < change.changed_at
            operative = Operative.objects.filter(participant=p).first()
            if operative is None:
                # Not operated yet, or the form not entered yet: recent.
                assert (TODAY - randomized_on[p.pk]).days <= 60, p
                continue
            operated += 1
            assert operative.status in COMPLETE
            assert randomized_on[p.pk] <= operative.surgery_date < TODAY
            assert operative.created_at.date() >= operative.surgery_date
        assert operated >= randomized.count() * 0.8
        # Every form, clinical or not, only for randomized participants (the
        # demo enters none before randomization; PROTOCOL §7).
        for spec in FORMS.values():
            assert not spec.model.objects.exclude(participant__in=randomized).exists()
        # Mostly the allocated procedure; a crossover recorded as a deviation.
        arms = dict(
            Slot.objects.filter(participant__isnull=False).values_list(
                "participant_id", "arm"
            )
        )
        crossed = [
            o for o in Operative.objects.all() if o.procedure != arms[o.participant_id]
        ]
        assert len(crossed) <= 2
        deviations = ProtocolDeviation.objects.filter(category="treatment")
        assert deviations.count() == len(crossed)
        for deviation in deviations:
            assert deviation.description.startswith(
                f"Allocated {arms[deviation.participant_id]};"
            )
        assert ProtocolDeviation.objects.count() >= 1
        assert Baseline.objects.filter(status=FormStatus.SIGNED).exists()

    def test_forms_include_drafts_events_and_end_of_follow_up(self, seeded):
        statuses = {
            key: set(spec.model.objects.values_list("status", flat=True))
            for key, spec in FORMS.items()
        }
        assert any(FormStatus.DRAFT in s for s in statuses.values())
        sae = AdverseEvent.objects.filter(serious=True)
        assert sae.exists()
        for event in sae:
            assert event.serious_criteria, event
            assert event.clavien_dindo
        # One SAE reached the Methods Centre days after the site knew of it.
        assert any((e.created_at.date() - e.awareness_date).days > 2 for e in sae)
        assert Reoperation.objects.exclude(reason="").exists()
        assert LocalRecurrence.objects.count() <= 1
        deaths = list(Death.objects.select_related("participant"))
        assert deaths
        for death in deaths:
            assert death.participant.status == S.DIED
            surgery = Operative.objects.get(participant=death.participant)
            assert death.death_date > surgery.surgery_date
        assert set(
            Participant.objects.filter(status=S.DIED).values_list("pk", flat=True)
        ) == {d.participant_id for d in deaths}
        withdrawals = list(Withdrawal.objects.select_related("participant"))
        assert withdrawals
        for withdrawal in withdrawals:
            assert withdrawal.participant.status == withdrawal.kind
            assert withdrawal.participant.status in {S.WITHDRAWN, S.LOST_TO_FOLLOW_UP}
        for p in Participant.objects.filter(status=S.COMPLETED):
            final = FollowUp.objects.get(participant=p, visit="12m")
            assert final.visit_date and final.status in COMPLETE

    def test_some_visits_are_overdue_missed_or_done(self, seeded):
        states = defaultdict(int)
        for p in Participant.objects.filter(status__in=RANDOMIZED_OR_LATER):
            for visit in participant_schedule(p):
                states[visit.state] += 1
        assert states[OVERDUE] >= 1
        assert states["done"] >= 1

    def test_queries_are_raised_answered_and_closed_over_time(self, seeded):
        datamanager = User.objects.get(username="datamanager")
        manual = list(DataQuery.objects.filter(check_code=""))
        assert manual and {q.raised_by for q in manual} == {datamanager}
        assert all(q.field_name for q in manual)
        assert {q.status for q in manual} & {
            DataQuery.Status.CLOSED,
            DataQuery.Status.ANSWERED,
        }
        # The nightly checks ran as the history was replayed: overdue visits
        # were queried, and closed once their forms came in.
        automatic = DataQuery.objects.exclude(check_code="")
        assert automatic.filter(status=DataQuery.Status.CLOSED).exists()
        assert automatic.filter(status=DataQuery.Status.OPEN).exists()
        for query in manual:
            messages = list(query.messages.order_by("id"))
            assert messages[0].action == "raised"
            assert [m.at for m in messages] == sorted(m.at for m in messages)
            assert query.raised_at > query.form.created_at

    def test_closed_report_of_the_demo_has_events_deaths_and_saes_in_both_arms(
        self, seeded
    ):
        from outcomes.services import report_build

        content = report_build(kind="closed", cutoff=timezone.localdate()).content
        estimates = content["estimates"]
        for letter in ("A", "B"):
            assert estimates["os"][letter]["events"] >= 1, letter
            assert estimates["ffs"][letter]["events"] >= 1, letter
        assert estimates["primary"]["Total"]["events"] >= 1
        listing = next(s for s in content["sections"] if s["id"] == "sae_listing")
        table = listing["tables"][0]
        column = table["columns"].index("Body system")
        systems_with_events = {row[column] for row in table["rows"]}
        assert len(systems_with_events) >= 3, systems_with_events
        arm = table["columns"].index("Arm")
        assert {row[arm] for row in table["rows"]} == {"A", "B"}

    def test_everyone_consented_or_later_has_a_fracture_status(self, seeded):
        consented_or_later = RANDOMIZED_OR_LATER | {S.CONSENTED}
        assert not Participant.objects.filter(
            status__in=consented_or_later, fracture_status=""
        ).exists()

    def test_no_baseline_disagrees_with_the_screened_fracture_status(self, seeded):
        """The demo's baselines confirm the participants' fracture status, so
        the fracture-status check (at save, and nightly) raises nothing."""
        assert Baseline.objects.exists()
        assert fracture_status_disagreements(complete_only=False) == []
        assert fracture_status_problems() == []
        assert not DataQuery.objects.filter(check_code=FRACTURE_CHECK).exists()


def test_default_password_is_printed_and_works(as_owner, db):
    output = run_seed(participants=12, password=demo.DEFAULT_PASSWORD)
    assert demo.DEFAULT_PASSWORD in output
    assert can_log_in("coordinator2", demo.DEFAULT_PASSWORD)


def test_catalogue_has_twenty_distinct_sites_in_two_continents():
    codes = [s.code for s in demo.SITE_CATALOGUE]
    assert len(codes) >= 20
    assert len(set(codes)) == len(codes)
    regions = {s.time_zone.split("/")[0] for s in demo.SITE_CATALOGUE}
    assert regions == {"America", "Europe"}


def test_paused_site_keeps_its_participants_but_stops_recruiting(as_owner, db):
    run_seed(sites=8, participants=40)
    paused = [s for s in demo.SITE_CATALOGUE[:8] if not s.is_active]
    assert paused
    for demo_site in paused:
        site = Site.objects.get(code=demo_site.code)
        assert not site.is_active
        assert site.participants.exists()
    assert Site.objects.filter(is_active=True).count() == 8 - len(paused)


def test_refuses_to_touch_a_database_that_already_has_a_site(db):
    SiteFactory(code="XYZ")
    users_before = User.objects.count()
    output = run_seed()
    assert "already present" in output
    assert Participant.objects.count() == 0
    assert User.objects.count() == users_before


def test_same_seed_gives_the_same_trial_and_another_seed_a_different_one(as_owner, db):
    first, first_allocations = seed_and_capture(seed=7)
    second, second_allocations = seed_and_capture(seed=7)
    other, other_allocations = seed_and_capture(seed=8)
    assert len(first) == SMALL["participants"]
    assert first == second
    assert first_allocations and first_allocations == second_allocations
    assert other != first
    assert other_allocations != first_allocations


def test_default_plan_leaves_five_waiting_for_consent_and_for_randomization():
    criteria = {code for code, *_ in demo.INELIGIBILITY_REASONS} | {
        code for code, _ in demo.PENDING_ANSWERS
    }
    plan = demo.demo_plan(
        sites=list(demo.SITE_CATALOGUE[: demo.DEFAULT_SITES]),
        participants=demo.DEFAULT_PARTICIPANTS,
        seed=demo.DEFAULT_SEED,
        today=timezone.localdate(),
        criterion_codes=criteria,
    )
    consented = [p for p in plan if p.status == S.CONSENTED]
    eligible = [p for p in plan if p.status == S.ELIGIBLE]
    assert len(consented) >= 5
    assert len(eligible) >= 5
    assert len({p.site_code for p in consented}) >= 2
    assert all(p.fracture_status for p in consented)
    assert all(p.decision_date for p in consented)


@pytest.mark.django_db(transaction=True)
def test_allocation_emails_run_in_process_at_commit_and_reach_no_one(
    as_owner, reference_data, mailoutbox
):
    assert EligibilityCriterion.objects.exists()
    run_seed(participants=12)
    used = Slot.objects.filter(participant__isnull=False)
    assert used.exists()
    # Marked notified in the seed, so the in-process tasks at commit write no
    # outbox row: nobody is e-mailed about demo history.
    assert not used.filter(notified_at__isnull=True).exists()
    assert not OutboundEmail.objects.filter(kind="allocation").exists()
    # Every e-mail of the demo's history is a row marked not sent.
    assert set(OutboundEmail.objects.values_list("status", flat=True)) <= {
        OutboundEmail.Status.CANCELLED
    }
    assert mailoutbox == []
    # A worker started later finds nothing to write or send either.
    assert randomization_tasks.allocation_notify_pending() == 0
    assert allocation_emails_queue(slot_id=used.first().pk) == 0
    assert emails_due(grace_seconds=0) == []
    assert not OutboundEmail.objects.filter(kind="allocation").exists()
    assert mailoutbox == []


@pytest.mark.django_db
def test_an_existing_allocation_list_counts_as_trial_data():
    AllocationList.objects.create(
        name="Someone's list",
        source=AllocationList.Source.GENERATED,
        arms=settings.RANDOMIZATION["ARMS"],
        ratio=[1, 1],
        block_sizes=[2],
        factors=["site"],
        slots_per_stratum=2,
        created_by=UserFactory(),
    )
    output = run_seed()
    assert "already present" in output
    assert not Site.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("sites", [1, len(demo.SITE_CATALOGUE) + 1])
def test_out_of_range_site_count_is_an_error_and_writes_nothing(sites):
    with pytest.raises(CommandError, match="--sites"):
        run_seed(sites=sites)
    assert not Site.objects.exists()
    assert not User.objects.exists()


def test_existing_demo_username_aborts_without_writing(as_owner, db):
    UserFactory(username="admin")
    with pytest.raises(CommandError, match="admin"):
        run_seed()
    assert not Site.objects.exists()
    assert not Participant.objects.exists()
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_a_today_in_the_future_is_an_error_and_writes_nothing():
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(CommandError, match="--today cannot be in the future"):
        run_seed(today=tomorrow)
    assert not Site.objects.exists()

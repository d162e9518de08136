"""The demo trial lives in time: every action at its own simulated moment, so
its history reads like a real trial's twenty months in (issue 13)."""

import datetime
import statistics
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from pghistory.models import Events

from crf.epro.responses import SYSTEM_USERNAME
from crf.forms.registry import FORMS
from crf.models import DataQuery, FollowUp, Operative
from demo import clock
from demo.common import DemoSeedError
from demo.seed import demo_seed
from outcomes.derivation import analysis_dataset
from perform.models import ConsentRecord, Participant, ParticipantStatusChange
from randomization.models import Slot
from randomization.selectors import randomization_dates
from tests.demo.conftest import TODAY

UTC = datetime.UTC


def local_date(moment: datetime.datetime, time_zone: str) -> datetime.date:
    return moment.astimezone(ZoneInfo(time_zone)).date()


def quartiles(values) -> list[float]:
    return statistics.quantiles(values, n=4)


class TestSmallDemoInTime:
    """Tests that read one small demo seeded as of ``TODAY``."""

    def test_every_randomization_precedes_its_surgery(self, seeded):
        randomized_on = randomization_dates(Participant.objects.all())
        allocated_at = dict(
            Slot.objects.filter(participant__isnull=False).values_list(
                "participant_id", "allocated_at"
            )
        )
        operatives = list(Operative.objects.all())
        assert len(operatives) >= 20
        for operative in operatives:
            pid = operative.participant_id
            assert randomized_on[pid] < operative.surgery_date, operative.participant
            # And the operative form was entered after the randomization.
            assert allocated_at[pid] < operative.created_at

    def test_randomizations_span_more_than_twelve_months_at_an_uneven_pace(
        self, seeded
    ):
        moments = sorted(
            Slot.objects.filter(participant__isnull=False).values_list(
                "allocated_at", flat=True
            )
        )
        assert (moments[-1] - moments[0]).days >= 365
        assert moments[-1].date() < TODAY
        months = {}
        for moment in moments:
            key = (moment.year, moment.month)
            months[key] = months.get(key, 0) + 1
        # Recruitment goes on over many months, not in a jump on one day.
        assert len(months) >= 12
        assert max(months.values()) <= len(moments) / 4

    def test_a_cutoff_six_months_before_today_analyses_a_large_share(self, seeded):
        randomized = Slot.objects.filter(participant__isnull=False).count()
        cutoff = TODAY - datetime.timedelta(days=182)
        rows = analysis_dataset(cutoff=cutoff).rows
        assert len(rows) >= 0.4 * randomized
        # Followed for varied lengths: not everyone censored at the cut-off.
        times = {row["os_days"] for row in rows}
        assert len(times) >= 0.5 * len(rows)

    def test_status_changes_and_audit_events_carry_the_simulated_moments(self, seeded):
        changes = ParticipantStatusChange.objects.select_related("participant__site")
        consents = dict(
            ConsentRecord.objects.values_list("participant_id", "decision_date")
        )
        inserts = {
            int(e.pgh_obj_id): e.pgh_created_at
            for e in Events.objects.filter(
                pgh_model="perform.ParticipantEvent", pgh_label="insert"
            )
        }
        assert inserts
        for change in changes:
            participant = change.participant
            tz = participant.site.time_zone
            day = local_date(change.changed_at, tz)
            if change.to_status == "screened":
                assert day == participant.screening_date
                # The audit event of the screening is stamped with the same moment
                # (the Python clock ticks on from it within the action).
                delta = change.changed_at - inserts[participant.pk]
                assert datetime.timedelta(0) <= delta < datetime.timedelta(seconds=5)
            elif change.to_status in {"eligible", "ineligible"} and change.from_status:
                assert day == participant.screening_date
            elif change.to_status in {"consented", "declined"}:
                assert day == consents[participant.pk]
        # Audit events span the trial, not the moment of seeding (the roles'
        # permissions and the checklist are migrate's, not the demo's).
        demo_events = Events.objects.exclude(
            pgh_model__in=[
                "perform.GroupPermissionEvent",
                "perform.EligibilityCriterionEvent",
            ]
        )
        moments = demo_events.values_list("pgh_created_at", flat=True)
        first, last = min(moments), max(moments)
        assert (last - first).days >= 365
        assert last.date() < TODAY

    def test_form_timestamps_follow_their_events_with_spread_entry_delays(self, seeded):
        delays = []
        for spec in FORMS.values():
            for form in spec.model.objects.select_related(
                "participant__site", "created_by"
            ):
                entered = local_date(form.created_at, form.participant.site.time_zone)
                assert entered < TODAY
                # A follow-up form first written by the participant's own
                # answers (ePRO, often before the visit) was not entered by
                # the site then: its delay is not an entry delay.
                by_site = form.created_by.username != SYSTEM_USERNAME
                if isinstance(form, FollowUp) and form.visit_date and by_site:
                    delays.append((entered - form.visit_date).days)
        assert min(delays) >= 0
        q1, median, q3 = quartiles(delays)
        assert q3 - q1 >= 3, (q1, median, q3)
        assert max(delays) >= 21
        # And the audit events of the forms carry those moments too.
        form_events = Events.objects.filter(pgh_model="crf.FollowUpEvent")
        assert form_events.exists()
        assert {e.pgh_created_at.date() for e in form_events} != {TODAY}

    def test_query_ages_have_spread(self, seeded):
        moment = datetime.datetime.combine(TODAY, datetime.time(), tzinfo=UTC)
        ages = [(moment - q.raised_at).days for q in DataQuery.objects.all()]
        assert len(ages) >= 10
        q1, median, q3 = quartiles(ages)
        assert q3 - q1 >= 14, (q1, median, q3)
        open_ages = [
            (moment - q.raised_at).days
            for q in DataQuery.objects.exclude(status=DataQuery.Status.CLOSED)
        ]
        assert open_ages and max(open_ages) >= 14


@pytest.mark.django_db
def test_seeding_as_the_application_role_is_refused_and_writes_nothing():
    """Only the owner's audit events take the simulated moment: seeded as the
    application role, the demo's history would carry today's date, so it is
    refused, with the way out."""
    assert not clock.audit_clock_honoured()
    with pytest.raises(DemoSeedError, match="database owner role"):
        demo_seed(sites=2, participants=4, today=TODAY)
    assert not Participant.objects.exists()


@pytest.mark.django_db
def test_the_application_role_cannot_backdate_an_audit_event():
    """The audit clock is no back door: the application role setting
    ``perform.demo_clock`` still gets NOW() on its events."""
    from tests.factories import SiteFactory

    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('perform.demo_clock', '2001-02-03', true)")
        cursor.execute("SELECT NOW()")
        now = cursor.fetchone()[0]
    site = SiteFactory()
    event = Events.objects.filter(pgh_model="perform.SiteEvent").get(
        pgh_obj_id=str(site.pk)
    )
    assert event.pgh_created_at == now


def test_the_owner_stamps_the_simulated_moment(as_owner, db):
    from tests.factories import SiteFactory

    moment = datetime.datetime(2025, 3, 4, 10, 30, tzinfo=UTC)
    assert clock.audit_clock_honoured()
    with clock.at(moment):
        site = SiteFactory()
        assert site.created_at == moment if hasattr(site, "created_at") else True
    event = Events.objects.filter(pgh_model="perform.SiteEvent").get(
        pgh_obj_id=str(site.pk)
    )
    assert event.pgh_created_at == moment


class TestDefaultDemoDeathAwaitingItsForm:
    """The default demo has one death the site heard of but has not recorded:
    the missed visit says "dead", the Death form is a draft, the automatic
    query asks for it."""

    def test_the_dead_visit_has_its_open_query(self, as_owner, db):
        from crf.models import Death
        from crf.queries.automatic import DEAD_CHECK
        from tests.demo.conftest import run_seed

        run_seed(sites=8, participants=160, seed=2025)
        dead = list(FollowUp.objects.filter(vital_status="dead"))
        assert len(dead) == 1
        participant = dead[0].participant
        assert participant.status == "randomized"
        assert Death.objects.get(participant=participant).status == "draft"
        query = DataQuery.objects.get(check_code=DEAD_CHECK)
        assert query.status == DataQuery.Status.OPEN
        assert query.participant == participant

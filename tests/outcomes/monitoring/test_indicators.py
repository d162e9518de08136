"""Key risk indicators' per-site counts read from the database (PROTOCOL §14):
a hand-built trial over site A (Toronto) and site B (Hamburg) on fixed past
dates, every count computed by hand below; the scope of a site coordinator;
changes to complete forms from the audit trail; a query count that does not
grow with the trial."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crf.forms import services as forms
from crf.models import (
    AdverseEvent,
    Baseline,
    DataQuery,
    Death,
    FollowUp,
    FormStatus,
    Operative,
    PromResponse,
    ProtocolDeviation,
    Withdrawal,
)
from outcomes.monitoring.funnel import IndicatorKind, site_funnel_scores
from outcomes.monitoring.indicators import (
    INDICATORS,
    site_digit_values,
    site_indicator_counts,
)
from perform import services as core
from tests.clock import today_at
from tests.conftest import eligible_answers
from tests.crf.bulk import form_kwargs

D = datetime.date
AS_OF = D(2026, 6, 30)
TORONTO, BERLIN = ZoneInfo("America/Toronto"), ZoneInfo("Europe/Berlin")
UTC = datetime.UTC


def at(day, hour, zone, minute=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute), zone)


def form(model, participant, actor, *, completed=None, **fields):
    """A form inserted as the services leave it; ``completed``: its entry
    time (complete), or ``None`` for a draft."""
    status = FormStatus.COMPLETE if completed else FormStatus.DRAFT
    return model.objects.create(
        **form_kwargs(participant, actor, status=status, **fields),
        completed_at=completed,
    )


def query(participant, on_form, raised, *, status="open", closed=None):
    q = DataQuery.objects.create(
        participant=participant,
        form_type=ContentType.objects.get_for_model(on_form),
        form_id=on_form.pk,
        text="Please check.",
        status=status,
    )
    # raised_at is auto_now_add: set the moment the test needs afterwards.
    DataQuery.objects.filter(pk=q.pk).update(raised_at=raised, closed_at=closed)
    return q


def ineligible_answers():
    return eligible_answers() | {"active_infection": True}


def by_site(counts, code):
    return {s.site_code: s for s in counts[code]}


@pytest.fixture
def trial(users, site_a, site_b, screen, randomize):
    """Site A: A1–A4 randomized by AS_OF, A5 after it; A6 ineligible, A7
    consented only, A8 ineligible after AS_OF. Site B: B1, B2 randomized, B3
    ineligible. Forms, queries and a questionnaire as each test states."""
    ca, cb = users["coordinator"], users["coordinator2"]
    p = {}
    for name, site, coordinator, on in [
        ("A1", site_a, ca, D(2026, 1, 1)),
        ("A2", site_a, ca, D(2026, 2, 1)),
        ("A3", site_a, ca, D(2026, 3, 1)),
        ("A4", site_a, ca, D(2025, 3, 1)),
        ("A5", site_a, ca, D(2026, 7, 15)),
        ("B1", site_b, cb, D(2026, 4, 1)),
        ("B2", site_b, cb, D(2026, 6, 10)),
    ]:
        p[name] = randomize(screen(coordinator, site), coordinator=coordinator, on=on)
    p["A6"] = screen(
        ca, site_a, screening_date=D(2026, 2, 10), answers=ineligible_answers()
    )
    p["A7"] = screen(ca, site_a, screening_date=D(2026, 5, 1))
    core.participant_consent_record(
        actor=ca,
        participant=p["A7"],
        decision_date=D(2026, 5, 2),
        form_version="v1",
        obtained_by="Dr A",
    )
    p["A8"] = screen(
        ca, site_a, screening_date=D(2026, 8, 1), answers=ineligible_answers()
    )
    p["B3"] = screen(
        cb, site_b, screening_date=D(2026, 3, 1), answers=ineligible_answers()
    )

    f = {}
    # Ends of exposure: A2's complete Death form, A3's withdrawal, A4's surgery
    # (+395 days); A1's draft Death form ends nothing.
    f["death"] = form(
        Death,
        p["A2"],
        ca,
        death_date=D(2026, 3, 3),
        primary_cause="other",
        completed=at(D(2026, 3, 4), 12, TORONTO),
    )
    form(Death, p["A1"], ca, death_date=D(2026, 5, 1))
    f["withdrawal"] = form(
        Withdrawal,
        p["A3"],
        ca,
        kind="withdrawn",
        withdrawal_date=D(2026, 4, 10),
        completed=at(D(2026, 4, 12), 12, TORONTO),
    )
    f["operative"] = form(
        Operative,
        p["A4"],
        ca,
        surgery_date=D(2025, 3, 5),
        completed=at(D(2025, 3, 5), 18, TORONTO),
    )
    # Adverse events (onset, awareness, entry).
    ae = dict(term="x", body_system="other", clavien_dindo="I")
    f["ae1"] = form(
        AdverseEvent,
        p["A1"],
        ca,
        **ae,
        serious=False,
        onset_date=D(2026, 2, 1),
        awareness_date=D(2026, 2, 2),
        completed=at(D(2026, 2, 5), 12, TORONTO),
    )
    form(
        AdverseEvent,
        p["A1"],
        ca,
        **ae,
        serious=True,
        onset_date=D(2026, 3, 1),
        awareness_date=D(2026, 3, 1),
        completed=at(D(2026, 3, 20), 12, TORONTO),
    )
    form(
        AdverseEvent,
        p["A1"],
        ca,
        **ae,
        serious=True,
        onset_date=D(2026, 3, 2),
        awareness_date=D(2026, 3, 2),
    )
    form(
        AdverseEvent,
        p["A1"],
        ca,
        **ae,
        serious=False,
        onset_date=D(2026, 7, 5),
        awareness_date=D(2026, 7, 5),
        completed=at(D(2026, 7, 6), 12, TORONTO),
    )
    # 23:30 in Toronto is 03:30 UTC the next day: 10 days after awareness
    # at the site (not late), 11 by the UTC date.
    form(
        AdverseEvent,
        p["A4"],
        ca,
        **ae,
        serious=True,
        onset_date=D(2025, 6, 1),
        awareness_date=D(2025, 6, 1),
        completed=at(D(2025, 6, 11), 23, TORONTO, 30),
    )
    # 00:30 in Hamburg is 22:30 UTC the day before: 11 days after awareness
    # at the site (late), 10 by the UTC date.
    f["b_ae"] = form(
        AdverseEvent,
        p["B1"],
        cb,
        **ae,
        serious=False,
        onset_date=D(2026, 5, 1),
        awareness_date=D(2026, 5, 3),
        completed=at(D(2026, 5, 14), 0, BERLIN, 30),
    )
    # Protocol deviations.
    dev = dict(category="other", description="x", severity="minor")
    form(
        ProtocolDeviation,
        p["A1"],
        ca,
        **dev,
        deviation_date=D(2026, 3, 10),
        completed=at(D(2026, 3, 10), 12, TORONTO),
    )
    form(
        ProtocolDeviation,
        p["A7"],
        ca,
        **dev,
        deviation_date=D(2026, 5, 5),
        completed=at(D(2026, 5, 6), 12, TORONTO),
    )
    form(ProtocolDeviation, p["A1"], ca, **dev, deviation_date=D(2026, 4, 1))
    form(
        ProtocolDeviation,
        p["A1"],
        ca,
        **dev,
        deviation_date=D(2026, 7, 1),
        completed=at(D(2026, 7, 1), 12, TORONTO),
    )
    form(
        ProtocolDeviation,
        p["B1"],
        cb,
        **dev,
        deviation_date=D(2026, 5, 10),
        completed=at(D(2026, 5, 10), 12, BERLIN),
    )
    # Baseline and follow-up (EQ VAS, haemoglobin).
    form(
        Baseline,
        p["A1"],
        ca,
        assessment_date=D(2026, 1, 1),
        eq5d_vas=70,
        haemoglobin_g_l=123,
        completed=at(D(2026, 1, 20), 12, TORONTO),
    )
    form(
        Baseline,
        p["A4"],
        ca,
        assessment_date=D(2025, 3, 1),
        eq5d_vas=55,
        haemoglobin_g_l=95,
        completed=at(D(2025, 3, 2), 12, TORONTO),
    )
    form(
        Baseline,
        p["A2"],
        ca,
        assessment_date=D(2026, 2, 1),
        eq5d_vas=40,
        haemoglobin_g_l=100,
    )
    form(
        FollowUp,
        p["A4"],
        ca,
        visit="2w",
        visit_date=D(2025, 3, 19),
        vital_status="alive",
        eq5d_vas=80,
        completed=at(D(2025, 4, 15), 12, TORONTO),
    )
    form(
        Baseline,
        p["B1"],
        cb,
        assessment_date=D(2026, 4, 1),
        eq5d_vas=65,
        haemoglobin_g_l=110,
        completed=at(D(2026, 4, 2), 12, BERLIN),
    )
    # A4's questionnaire at 6 weeks, on paper.
    PromResponse.objects.create(
        participant=p["A4"],
        visit="6w",
        mode="paper",
        language="en",
        status="submitted",
        started_at=at(D(2025, 4, 20), 9, TORONTO),
        last_saved_at=at(D(2025, 4, 20), 9, TORONTO),
        submitted_at=at(D(2025, 4, 20), 9, TORONTO),
    )
    # Queries (raised, status, closed).
    noon = datetime.time(12)
    utc = lambda day: datetime.datetime.combine(day, noon, UTC)  # noqa: E731
    query(p["A1"], f["ae1"], utc(D(2026, 3, 1)))
    query(p["A1"], f["ae1"], utc(D(2026, 3, 1)), status="answered")
    query(
        p["A1"],
        f["ae1"],
        utc(D(2026, 3, 1)),
        status="closed",
        closed=utc(D(2026, 4, 1)),
    )
    query(
        p["A2"],
        f["death"],
        utc(D(2026, 3, 1)),
        status="closed",
        closed=utc(D(2026, 7, 10)),
    )
    query(p["A3"], f["withdrawal"], utc(D(2026, 5, 31)))
    query(p["A3"], f["withdrawal"], utc(D(2026, 7, 2)))
    # 02:00 UTC on 31 May is 22:00 on 30 May in Toronto: 31 days before AS_OF.
    query(p["A4"], f["operative"], datetime.datetime(2026, 5, 31, 2, tzinfo=UTC))
    query(p["B1"], f["b_ae"], utc(D(2026, 4, 1)))
    query(p["B1"], f["b_ae"], utc(D(2026, 6, 20)))
    return p


# Hand-computed expectations on AS_OF = 30 June 2026.
# Exposure (randomization → earliest of AS_OF, death, withdrawal, surgery+395):
#   A1 1 Jan → 30 Jun (its Death form is a draft): 31+28+31+30+31+29 = 180
#   A2 1 Feb → death 3 Mar: 28 + 2 = 30
#   A3 1 Mar → withdrawal 10 Apr: 31 + 9 = 40
#   A4 1 Mar 2025 → 5 Mar 2025 + 395 = 4 Apr 2026: 4 + 395 = 399
#   A5 randomized 15 Jul: not yet. Site A: 4 participants, 649 days.
#   B1 1 Apr → 30 Jun: 30+31+29 = 90; B2 10 Jun → 30 Jun: 20. Site B: 2, 110.
EXPOSURE = {"TOR": (4, 180 + 30 + 40 + 399), "HAM": (2, 90 + 20)}
EXPECTED = {
    # AEs, complete, onset by AS_OF, of participants randomized by AS_OF:
    # A1 1 Feb, A1 1 Mar (serious), A4 1 Jun 2025 (serious); the draft and
    # the 5 July onset are not counted. B1 1 May. Per patient-month.
    "ae_rate": {"TOR": (3, 649 / 30.4375), "HAM": (1, 110 / 30.4375)},
    "sae_rate": {"TOR": (2, 649 / 30.4375), "HAM": (0, 110 / 30.4375)},
    # Complete deviations dated by AS_OF: A1 10 Mar and A7 5 May (consented,
    # never randomized); not A1's draft nor its 1 July one. B1 10 May.
    "deviation_rate": {"TOR": (2, 649 / 30.4375), "HAM": (1, 110 / 30.4375)},
    # Forms entered by AS_OF: TOR: A2 death, A3 withdrawal, A4 operative,
    # three AEs (A1 ×2, A4), two deviations, two baselines, A4's follow-up =
    # 11 (drafts and the July entries left out); HAM: AE, deviation,
    # baseline = 3. Queries raised by AS_OF: TOR 6 (all but 2 July's), HAM 2.
    "query_rate": {"TOR": (6, 11), "HAM": (2, 3)},
    # Raised over 30 days before AS_OF (on or before 30 May, site date) and
    # unresolved on AS_OF: TOR: open 1 Mar, answered 1 Mar, closed 10 Jul,
    # 30 May 22:00 Toronto = 4 (not: closed 1 Apr; 31 May: 30 days).
    # HAM: 1 Apr = 1 (not 20 Jun).
    "old_open_queries": {"TOR": (4, 6), "HAM": (1, 2)},
    # Dated forms (entry − event date): TOR: operative 0, AE 3, AE 19 (late),
    # AE 10 at Toronto's 23:30 (not late), baselines 19 (late) and 1,
    # follow-up 19 Mar → 15 Apr = 27 (late): 3 of 7. HAM: AE 3 → 14 May
    # 00:30 Hamburg = 11 (late), baseline 1: 1 of 2.
    "late_entry": {"TOR": (3, 7), "HAM": (1, 2)},
    # A4, operated 5 Mar 2025: baseline and six follow-up windows all closed
    # by AS_OF (last 4 Apr 2026) = 7 expected; its 6-week questionnaire
    # submitted = 1. No one operated at HAM.
    "prom_completion": {"TOR": (1, 7), "HAM": (0, 0)},
    # Screened by AS_OF: TOR A1–A4, A6, A7 = 6 (A5 moved to 15 Jul, A8 on
    # 1 Aug), ineligible A6 = 1; HAM B1, B2, B3 = 3, ineligible B3 = 1.
    "screen_failure": {"TOR": (1, 6), "HAM": (1, 3)},
    # No form was changed after completion (see the test below).
    "data_change_rate": {"TOR": (0, 11), "HAM": (0, 3)},
}


@pytest.mark.django_db
def test_each_indicator_counts_per_site_as_computed_by_hand(users, trial):
    counts = site_indicator_counts(user=users["datamanager"], as_of=AS_OF)

    assert list(counts) == [indicator.code for indicator in INDICATORS]
    for code, expected in EXPECTED.items():
        sites = counts[code]
        assert [s.site_code for s in sites] == ["HAM", "TOR"], code
        for s in sites:
            numerator, denominator = expected[s.site_code]
            assert s.numerator == numerator, (code, s.site_code)
            assert s.denominator == pytest.approx(denominator), (code, s.site_code)
            assert (s.participants, s.exposure_days) == EXPOSURE[s.site_code], code
    # The counts are what the funnel statistics take, kind by kind.
    for indicator in INDICATORS:
        scores = site_funnel_scores(counts[indicator.code], kind=indicator.kind)
        assert [s.site_code for s in scores.sites] == ["HAM", "TOR"]


@pytest.mark.django_db
def test_indicators_are_declared_with_a_kind_a_scale_and_a_concern():
    kinds = {i.code: i.kind for i in INDICATORS}
    assert kinds["ae_rate"] is IndicatorKind.RATE
    assert kinds["query_rate"] is IndicatorKind.RATE
    assert kinds["late_entry"] is IndicatorKind.PROPORTION
    assert kinds["prom_completion"] is IndicatorKind.PROPORTION
    prom = next(i for i in INDICATORS if i.code == "prom_completion")
    assert [d.value for d in prom.concern] == ["low"]
    assert all(i.scale == 100 and i.concern for i in INDICATORS)


@pytest.mark.django_db
def test_terminal_digit_values_per_site(users, trial):
    """Complete forms dated by AS_OF: TOR baselines A1 (VAS 70, Hb 123) and
    A4 (55, 95), A4's follow-up (VAS 80); A2's draft baseline (40, 100) left
    out. HAM baseline B1 (65, 110)."""
    values = site_digit_values(user=users["datamanager"], as_of=AS_OF)

    assert {site: sorted(v) for site, v in values["eq_vas"].items()} == {
        "HAM": [65],
        "TOR": [55, 70, 80],
    }
    assert {site: sorted(v) for site, v in values["haemoglobin"].items()} == {
        "HAM": [110],
        "TOR": [95, 123],
    }


@pytest.mark.django_db
def test_a_site_coordinator_sees_only_their_site(users, trial):
    counts = site_indicator_counts(user=users["coordinator"], as_of=AS_OF)
    digits = site_digit_values(user=users["coordinator"], as_of=AS_OF)

    for code, expected in EXPECTED.items():
        (site,) = counts[code]
        assert site.site_code == "TOR"
        assert (site.numerator, site.participants) == (expected["TOR"][0], 4)
    assert list(digits["eq_vas"]) == ["TOR"]
    assert site_indicator_counts(user=users["dsmb"], as_of=AS_OF) == {
        indicator.code: [] for indicator in INDICATORS
    }


@pytest.mark.django_db
def test_query_count_does_not_grow_with_participants(
    users, site_a, site_b, screen, randomize, trial
):
    dm = users["datamanager"]
    site_indicator_counts(user=dm, as_of=AS_OF)  # the user's permissions cached
    with CaptureQueriesContext(connection) as before:
        site_indicator_counts(user=dm, as_of=AS_OF)
    for site, coordinator in [(site_a, "coordinator"), (site_b, "coordinator2")]:
        for _ in range(2):
            actor = users[coordinator]
            p = randomize(screen(actor, site), coordinator=actor, on=D(2026, 2, 1))
            ae = form(
                AdverseEvent,
                p,
                actor,
                term="y",
                serious=True,
                onset_date=D(2026, 2, 2),
                awareness_date=D(2026, 2, 2),
                completed=at(D(2026, 2, 3), 12, UTC),
            )
            query(p, ae, at(D(2026, 2, 4), 12, UTC))
    with CaptureQueriesContext(connection) as after:
        counts = site_indicator_counts(user=dm, as_of=AS_OF)

    assert by_site(counts, "ae_rate")["TOR"].numerator == 3 + 2
    # Sites, exposure, AEs, deviations, screening, forms, queries, changes,
    # and the questionnaires' two (prom_completion).
    assert len(after) == len(before) == 10


@pytest.mark.django_db
def test_data_changes_are_saves_of_complete_forms_from_the_audit_trail(
    users, site_a, site_b, screen, randomize
):
    """TOR: D1 complete, changed twice with a reason (2), then locked (not a
    change: the version stays); D2 a draft completed (not a change: it was
    not complete); D3 complete, saved back to draft with a reason (1): 3
    changes. Entered (complete now): D1, D2 = 2. HAM: E1 changed once (1),
    entered 1. With an as-of date before today the changes are not counted."""
    ca, cb, dm = users["coordinator"], users["coordinator2"], users["datamanager"]
    a = randomize(screen(ca, site_a), on=D(2026, 1, 5))
    b = randomize(screen(cb, site_b), coordinator=cb, on=D(2026, 1, 5))
    dev = dict(category="other", description="x", severity="minor")
    made = at(D(2026, 1, 10), 12, UTC)
    d1 = form(
        ProtocolDeviation, a, ca, **dev, deviation_date=D(2026, 1, 6), completed=made
    )
    d2 = form(ProtocolDeviation, a, ca, **dev, deviation_date=D(2026, 1, 7))
    d3 = form(
        ProtocolDeviation, a, ca, **dev, deviation_date=D(2026, 1, 8), completed=made
    )
    e1 = form(
        ProtocolDeviation, b, cb, **dev, deviation_date=D(2026, 1, 6), completed=made
    )

    def save(actor, form_, *, complete=True, reason="Corrected from source"):
        form_.refresh_from_db()
        form_.description = f"{form_.description}+"
        return forms.form_save(
            actor=actor, form=form_, complete=complete, reason=reason
        )

    save(ca, d1)
    save(ca, d1)
    forms.form_lock(actor=dm, form=d1, locked=True)
    save(ca, d2, reason="")
    save(ca, d3, complete=False)
    save(cb, e1)

    # Hamburg's date is today's or the day after Toronto's: every change
    # was made on or before it, at both sites.
    counts = site_indicator_counts(user=dm, as_of=today_at(site_b))
    changes = by_site(counts, "data_change_rate")
    assert (changes["TOR"].numerator, changes["TOR"].denominator) == (3, 2)
    assert (changes["HAM"].numerator, changes["HAM"].denominator) == (1, 1)

    earlier = site_indicator_counts(user=dm, as_of=today_at(site_a) - D.resolution)
    assert [s.numerator for s in earlier["data_change_rate"]] == [0, 0]

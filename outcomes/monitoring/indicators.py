"""The key risk indicators of PROTOCOL §14 and their per-site counts, read
from the database for the funnel statistics (``outcomes.monitoring.funnel``)
and the terminal-digit test (``outcomes.monitoring.digits``).

``INDICATORS`` declares each indicator: its code, title, kind (a rate, whose
denominator is exposure, or a proportion), the unit and scale it is shown in,
and which direction of departure from the other sites is a concern.
``site_indicator_counts(user=..., as_of=...)`` returns, for every indicator,
one ``SiteCounts`` per site the user sees (``perform.selectors.sites_for``; a
site with nothing yet has zeros), counted over the participants of
``perform.selectors.participants_for(user)``: the one door, so a site
coordinator's indicators cover their own sites only. About ten queries,
however many participants (each count is aggregated per site by the
database).

Definitions, on the data-cut-off date ``as_of`` (dates of timestamps are
taken in the site's own time zone):

* **Participants and exposure** (the ``participants`` and
  ``exposure_days`` of every indicator's ``SiteCounts``, which decide
  whether a site may be flagged: §14's "none below 3 participants or 30 days
  of exposure" is a rule about the site, so it is applied alike to every
  indicator, screening included; a site too new to be judged is judged on
  nothing). Participants: randomized on or before ``as_of`` (the local date
  of the allocation, ``randomization.selectors.randomization_dates``'s
  definition). Exposure of one participant, in days: from the randomization
  date to the earliest of ``as_of``, the death date (a complete Death form),
  the withdrawal or loss-to-follow-up date (a complete Withdrawal form: both
  end the visit schedule, ``crf.schedule.inputs``), and the end of follow-up
  (surgery date + the last visit window's closing day, 395 days with the
  configured visits; none without a surgery date); never below 0. Patient-
  months = days / 30.4375 (the mean month of the Gregorian calendar).
* **AE rate, SAE rate** per 100 patient-months: adverse event forms of those
  participants, complete or signed (not drafts), with onset on or before
  ``as_of``; SAE: those marked serious.
* **Protocol deviation rate** per 100 patient-months: complete or signed
  Protocol deviation forms dated on or before ``as_of``, of *every*
  participant in scope, randomized or not: a consent or eligibility
  deviation of a participant never randomized is still the site's
  deviation, and exposure is only the yardstick of the site's activity.
* **Query rate** per 100 forms: data queries raised by ``as_of`` per form
  entered by ``as_of``; **queries open over 30 days**: the proportion of the
  queries raised by ``as_of`` that were raised more than 30 days before it
  and are unresolved on it; **forms entered over 10 days after the visit**:
  the proportion, among entered forms with an event date, entered more than
  10 days after it; **data-change rate** per 100 complete forms: saves of a
  form that was already complete (audited edits with a reason) by ``as_of``,
  per form entered by ``as_of``. ``outcomes.monitoring.form_counts`` defines
  entered, event date, unresolved and data change precisely. These count
  every form and query of every participant in scope (baseline forms and
  queries exist before randomization too).
* **PROM completion**: completed / expected questionnaires from
  ``crf.epro.completion.prom_completion`` on ``as_of`` (site totals over the
  visits; its docstring has the rules): low is the concern.
* **Screen-failure rate**: participants screened on or before ``as_of`` whose
  status is *ineligible*, among all screened on or before ``as_of``. The
  current status is used: screening answers may be corrected until
  randomization (ineligible ↔ eligible), and the corrected one is the truth.

Terminal-digit preference (EQ VAS, haemoglobin) is a test per site, not a
funnel: ``site_digit_values`` returns each site's recorded values
(``form_counts.digit_values``) for ``digits.terminal_digit_scores``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import (
    Count,
    DateField,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Greatest, Least

from crf.epro.completion import prom_completion
from crf.models import COMPLETE_STATUSES, AdverseEvent, ProtocolDeviation
from crf.schedule.inputs import (
    deaths_recorded,
    surgeries_recorded,
    withdrawals_recorded,
)
from crf.schedule.visits import visit_definitions
from outcomes.monitoring import form_counts
from outcomes.monitoring.form_counts import LocalDate
from outcomes.monitoring.funnel import Direction, IndicatorKind, SiteCounts
from perform.models import Participant, ParticipantStatus
from perform.selectors import participants_for, sites_for

DAYS_PER_MONTH = 30.4375


@dataclass(frozen=True)
class Indicator:
    """One key risk indicator. A site's value is numerator / denominator
    (per patient-month, per form, or a fraction); it is shown times
    ``scale`` in ``unit``. ``concern`` lists the directions of departure
    from the other sites that call for a look (both, for a rate whose
    low values suggest under-reporting and high values a problem)."""

    code: str
    title: str
    kind: IndicatorKind
    unit: str
    scale: float
    concern: tuple[Direction, ...]


HIGH, LOW = (Direction.HIGH,), (Direction.LOW,)
BOTH = (Direction.HIGH, Direction.LOW)
RATE, PROPORTION = IndicatorKind.RATE, IndicatorKind.PROPORTION
PER_100_MONTHS = "per 100 patient-months"

INDICATORS: tuple[Indicator, ...] = (
    # Low AE, SAE and deviation rates are the classic sign of under-reporting;
    # high ones of a safety, conduct or recording problem.
    Indicator("ae_rate", "Adverse events", RATE, PER_100_MONTHS, 100, BOTH),
    Indicator("sae_rate", "Serious adverse events", RATE, PER_100_MONTHS, 100, BOTH),
    Indicator("deviation_rate", "Protocol deviations", RATE, PER_100_MONTHS, 100, BOTH),
    Indicator("query_rate", "Data queries", RATE, "per 100 forms", 100, HIGH),
    Indicator(
        "old_open_queries",
        "Queries open over 30 days",
        PROPORTION,
        "% of queries raised",
        100,
        HIGH,
    ),
    Indicator(
        "late_entry",
        "Forms entered over 10 days after the visit",
        PROPORTION,
        "% of dated forms",
        100,
        HIGH,
    ),
    Indicator(
        "prom_completion",
        "PROM completion",
        PROPORTION,
        "% of expected questionnaires",
        100,
        LOW,
    ),
    # High: screening patients who could not qualify; low: perhaps screening
    # logged only for patients already judged eligible.
    Indicator(
        "screen_failure", "Screen failures", PROPORTION, "% of screened", 100, BOTH
    ),
    Indicator(
        "data_change_rate",
        "Changes to complete forms",
        RATE,
        "per 100 complete forms",
        100,
        HIGH,
    ),
)
INDICATORS_BY_CODE = {indicator.code: indicator for indicator in INDICATORS}

# Terminal-digit preference: (code, title) of the values tested.
DIGIT_INDICATORS = (("eq_vas", "EQ VAS"), ("haemoglobin", "Haemoglobin (g/L)"))


class DaysBetween(Func):
    """``end − start`` in days, for two dates (PostgreSQL's date subtraction
    gives an integer; Django's would give an interval)."""

    template = "(%(expressions)s)"
    arg_joiner = " - "
    output_field = IntegerField()


def _first_date(queryset: QuerySet, date_field: str) -> Subquery:
    """The participant's date from ``queryset`` (one form per participant)."""
    return Subquery(
        queryset.filter(participant=OuterRef("pk")).values(date_field)[:1],
        output_field=DateField(),
    )


def randomized_by(scope: QuerySet[Participant], as_of: datetime.date) -> QuerySet:
    """``scope``'s participants randomized on or before ``as_of``, with their
    ``randomized_on`` (site-local date) and ``days_exposed``."""
    last_window_day = max((v.window_end_day for v in visit_definitions()), default=0)
    # date + interval is a timestamp in PostgreSQL: back to a date.
    follow_up_ends = Cast(
        _first_date(surgeries_recorded(), "surgery_date")
        + Value(datetime.timedelta(days=last_window_day)),
        output_field=DateField(),
    )
    return (
        scope.filter(allocation__allocated_at__isnull=False)
        .annotate(
            randomized_on=LocalDate(F("allocation__allocated_at"), F("site__time_zone"))
        )
        .filter(randomized_on__lte=as_of)
        .annotate(
            # PostgreSQL's LEAST ignores NULLs: a participant who has not
            # died, withdrawn or been operated ends at ``as_of``.
            exposure_ends=Least(
                Value(as_of, output_field=DateField()),
                _first_date(deaths_recorded(), "death_date"),
                _first_date(withdrawals_recorded(), "withdrawal_date"),
                follow_up_ends,
            ),
            days_exposed=Greatest(
                DaysBetween(F("exposure_ends"), F("randomized_on")), Value(0)
            ),
        )
    )


def _by_site(queryset: QuerySet, site_path: str, **aggregates) -> dict[str, dict]:
    rows = queryset.order_by().values(site_path).annotate(**aggregates)
    return {row[site_path]: row for row in rows}


def _site_counts(
    site_codes: list[str],
    exposure: dict[str, dict],
    counts: Callable[[str], tuple[float, float]],
) -> list[SiteCounts]:
    result = []
    for code in site_codes:
        numerator, denominator = counts(code)
        result.append(
            SiteCounts(
                site_code=code,
                numerator=numerator,
                denominator=denominator,
                participants=exposure.get(code, {}).get("participants", 0),
                exposure_days=exposure.get(code, {}).get("days", 0) or 0,
            )
        )
    return result


def site_indicator_counts(*, user, as_of: datetime.date) -> dict[str, list[SiteCounts]]:
    """Indicator code → one ``SiteCounts`` per site ``user`` sees, in site
    code order, by the module docstring's definitions on ``as_of``."""
    scope = participants_for(user)
    site_codes = list(sites_for(user).order_by("code").values_list("code", flat=True))
    if not site_codes:  # nothing to count: no query beyond the sites'
        return {indicator.code: [] for indicator in INDICATORS}
    randomized = randomized_by(scope, as_of)
    exposure = _by_site(
        randomized,
        "site__code",
        participants=Count("pk"),
        days=Sum("days_exposed"),
    )
    months = {
        code: (row["days"] or 0) / DAYS_PER_MONTH for code, row in exposure.items()
    }
    adverse = _by_site(
        AdverseEvent.objects.filter(
            participant__in=randomized.values("pk"),
            status__in=COMPLETE_STATUSES,
            onset_date__lte=as_of,
        ),
        "participant__site__code",
        ae=Count("pk"),
        sae=Count("pk", filter=Q(serious=True)),
    )
    deviations = _by_site(
        ProtocolDeviation.objects.filter(
            participant__in=scope,
            status__in=COMPLETE_STATUSES,
            deviation_date__lte=as_of,
        ),
        "participant__site__code",
        n=Count("pk"),
    )
    screened = _by_site(
        scope.filter(screening_date__lte=as_of),
        "site__code",
        screened=Count("pk"),
        ineligible=Count("pk", filter=Q(status=ParticipantStatus.INELIGIBLE)),
    )
    forms = form_counts.form_entry_counts(scope, as_of=as_of)
    queries = form_counts.query_counts(scope, as_of=as_of)
    changes = form_counts.data_change_counts(scope, as_of=as_of)
    proms = prom_completion(scope=scope, as_of=as_of, sites=site_codes)

    def row(table: dict, code: str, column: str) -> int:
        return table.get(code, {}).get(column, 0)

    def entered(code: str) -> int:
        return row(forms, code, "entered")

    per_site: dict[str, Callable[[str], tuple[float, float]]] = {
        "ae_rate": lambda c: (row(adverse, c, "ae"), months.get(c, 0.0)),
        "sae_rate": lambda c: (row(adverse, c, "sae"), months.get(c, 0.0)),
        "deviation_rate": lambda c: (row(deviations, c, "n"), months.get(c, 0.0)),
        "query_rate": lambda c: (row(queries, c, "raised"), entered(c)),
        "old_open_queries": lambda c: (
            row(queries, c, "old_open"),
            row(queries, c, "raised"),
        ),
        "late_entry": lambda c: (row(forms, c, "late"), row(forms, c, "dated")),
        "prom_completion": lambda c: (
            proms.site_total(c).completed,
            proms.site_total(c).expected,
        ),
        "screen_failure": lambda c: (
            row(screened, c, "ineligible"),
            row(screened, c, "screened"),
        ),
        "data_change_rate": lambda c: (changes[c], entered(c)),
    }
    return {
        indicator.code: _site_counts(site_codes, exposure, per_site[indicator.code])
        for indicator in INDICATORS
    }


def site_digit_values(*, user, as_of: datetime.date) -> dict[str, dict[str, list[int]]]:
    """``DIGIT_INDICATORS`` code → site code → the values recorded by
    ``as_of`` of the participants ``user`` sees (every site ``user`` sees
    listed, an empty list for a site without values), for
    ``digits.terminal_digit_scores``."""
    site_codes = list(sites_for(user).order_by("code").values_list("code", flat=True))
    values = form_counts.digit_values(participants_for(user), as_of=as_of)
    return {
        code: {site: values[code].get(site, []) for site in site_codes}
        for code, _title in DIGIT_INDICATORS
    }

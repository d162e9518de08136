"""Endpoint derivation: CRF data → the analysis dataset (PROTOCOL §10).

One row per randomized participant, built from *complete* (or signed) forms
only (read by ``outcomes.records``): a draft is not data until the site
completes it. Everything is read as of a data cut-off date: participants
randomized after it are left out, and events dated after it are ignored, so
the same data, cut-off and generation time always give the same rows (and the
same digest, see ``outcomes.inputs``).

Rules (each column is described in ``data_dictionary``):

* **Time zero** is the date of index surgery; for a participant never operated
  (by the cut-off) it is the randomization date (the randomization's local date
  at the site). Times are whole days from time zero.
* **Which events count** is decided by ``outcomes.data_issues.events_screened``
  (one owner; its docstring has the rules): failures dated before surgery and
  events dated after withdrawal or loss to follow-up are not counted, a
  follow-up recording "dead" is no death without a Death form; each such case
  is a data issue (``AnalysisDataset.data_issues``, the report's appendix).
* **Failure** (primary endpoint) is the first of: a reoperation for any reason,
  radiographic implant failure at a follow-up visit (dated by the visit), or
  local recurrence/progression (the recurrence form's date, or a follow-up
  visit reporting local progression). Death before failure is a competing
  event: ``failure_cause`` is 1 (failure), 2 (death without failure) or 0
  (censored).
* **Censoring**: at the last contact at which the participant was known alive
  (``last_alive_date``): randomization, surgery, discharge, a follow-up visit
  reporting them alive, an adverse-event onset or resolution, a reoperation, a
  recurrence, or the date consent was withdrawn; on or before the cut-off and
  never later than the date of withdrawal or loss to follow-up. Without a
  recorded failure every contact is failure-free, so the failure endpoints are
  censored on the same date.
* **30-day severe complication**: within 30 days of surgery (day 0 to 30), a
  death, an adverse event of Clavien-Dindo grade IIIb or worse, or a
  reoperation (counted events only). Evaluable when operated and either 30
  days have passed by the cut-off without withdrawal or loss first, or such an
  event occurred; blank otherwise.
* **Data use**: participants who withdrew and refused the use of their data
  are left out of a dataset generated after the refusal was recorded, whatever
  the cut-off (``outcomes.data_use``), and counted in
  ``AnalysisDataset.excluded_no_data_use``.
* **Missing-data codes** (PROTOCOL §7): a value left missing with a code is
  carried as its code (``NA``, ``UNK``, ``ND``, ``ILL``, ``DEC``, ``DIED``), never
  blank or 0, in the columns ``coded_columns`` lists; the data dictionary
  names the codes for each of them (``dictionary_rows``).
* **Sources**: ``time_zero_source``, ``failure_source``, ``death_source`` and
  ``censor_source`` name the form and date field each date was read from:
  ``Operative.surgery_date``, ``Randomization.allocated_at`` (the allocation's
  local date), ``Reoperation.reoperation_date``,
  ``LocalRecurrence.recurrence_date``, ``FollowUp[<visit code>].visit_date``
  (e.g. ``FollowUp[6m].visit_date``), ``Discharge.discharge_date``,
  ``AdverseEvent.onset_date``, ``AdverseEvent.resolution_date``,
  ``Withdrawal.withdrawal_date`` and ``Death.death_date``. On a tie of dates the
  first form in ``CONTACT_PRECEDENCE`` names the contact.
"""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from crf.forms.registry import FORMS
from crf.models import MissingCode
from crf.schedule.visits import visit_definitions
from outcomes.data_issues import Event, events_screened
from outcomes.data_use import refused_data_use
from outcomes.records import BASELINE_CHARACTERISTICS, SCORES, FormsRead
from perform.selectors import participants_for_system
from randomization.models import Slot
from randomization.selectors import randomization_dates

SEVERE_WINDOW_DAYS = 30

FAILURE_TYPES = ("reoperation", "implant_failure", "local_progression")
# Which form names the last contact when several share its date.
CONTACT_PRECEDENCE = (
    "FollowUp",
    "Withdrawal",
    "Death",
    "Operative",
    "Discharge",
    "Reoperation",
    "LocalRecurrence",
    "AdverseEvent",
    "Randomization",
)
SOURCE_TEXT = (
    "Form and date field it was read from, e.g. Operative.surgery_date, "
    "FollowUp[6m].visit_date (see the derivation rules)"
)


def score_visits() -> list[str]:
    """Visits at which instruments are scored: baseline, then each follow-up."""
    return ["baseline", *(visit.code for visit in visit_definitions())]


def data_dictionary() -> list[tuple[str, str, str]]:
    """(column, type, description) for every column, in CSV order."""
    columns = [
        ("study_id", "text", "Study ID (PRF-<site>-<sequence>)"),
        ("site", "text", "Site code"),
        ("arm", "text", "Allocated arm code (e.g. IF, RER)"),
        ("stratum", "text", "Randomization stratum key"),
        ("fracture_status", "text", "Stratification factor: impending / complete"),
        ("age", "integer", "Age at screening (years)"),
        ("sex", "text", "Sex"),
        ("randomization_date", "date", "Date of randomization (site local date)"),
        ("surgery_date", "date", "Date of index surgery; blank if not operated"),
        ("procedure", "text", "Procedure performed (IF / RER / other)"),
        ("time_zero", "date", "Surgery date, else randomization date"),
        ("time_zero_source", "text", f"Source of time_zero: {SOURCE_TEXT}"),
        ("first_failure_date", "date", "Date of first treatment failure (counted)"),
        (
            "first_failure_type",
            "text",
            "reoperation / implant_failure / local_progression (first; ties in "
            "this order)",
        ),
        ("failure_source", "text", f"Source of first_failure_date: {SOURCE_TEXT}"),
        (
            "death_date",
            "date",
            "Date of death from a complete Death form; blank when not counted "
            "(dated after withdrawal or loss: see the data issues)",
        ),
        ("death_source", "text", f"Source of death_date: {SOURCE_TEXT}"),
        ("death_cause", "text", "Primary cause of death (Death form code)"),
        (
            "last_alive_date",
            "date",
            "Last contact known alive, never after withdrawal or loss: the "
            "censoring date of every time-to-event endpoint without an event",
        ),
        ("censor_source", "text", f"Source of last_alive_date: {SOURCE_TEXT}"),
        ("withdrawal_date", "date", "Date of withdrawal or loss to follow-up"),
        ("withdrawal_kind", "text", "withdrawn / lost_to_follow_up"),
        ("os_days", "integer", "Overall survival: days from time zero"),
        ("os_event", "integer", "1 death, 0 censored at last known alive"),
        ("failure_days", "integer", "Primary endpoint: days from time zero"),
        ("failure_cause", "integer", "1 failure, 2 death before failure, 0 censored"),
        ("ffs_days", "integer", "Failure-free survival: days from time zero"),
        ("ffs_event", "integer", "1 failure or death, 0 censored"),
        (
            "severe_30d",
            "integer",
            "Severe complication within 30 days of surgery: 1 yes, 0 no, blank "
            "not evaluable",
        ),
        ("severe_30d_reasons", "text", "death / clavien_dindo / reoperation"),
    ]
    columns += [(name, "text", text) for name, text in BASELINE_CHARACTERISTICS]
    for visit in score_visits():
        for _field, prefix, text in SCORES:
            columns.append((f"{prefix}_{visit}", "number", f"{text} at {visit}"))
    return columns


def columns() -> list[str]:
    return [name for name, _type, _text in data_dictionary()]


DICTIONARY_COLUMNS = ["column", "type", "description", "missing_codes"]
MISSING_CODES_TEXT = "; ".join(f"{code.value} = {code.label}" for code in MissingCode)


def coded_columns() -> set[str]:
    """The dataset columns that may hold a missing-data code instead of a
    value: those read from a field the registry lets be coded."""
    baseline = set(FORMS["baseline"].codable_fields)
    coded = {name for name, _text in BASELINE_CHARACTERISTICS if name in baseline}
    if "procedure" in FORMS["operative"].codable_fields:
        coded.add("procedure")
    if "primary_cause" in FORMS["death"].codable_fields:
        coded.add("death_cause")
    for visit in score_visits():
        spec = FORMS["baseline" if visit == "baseline" else "follow-up"]
        for field_name, prefix, _text in SCORES:
            if field_name in spec.codable_fields:
                coded.add(f"{prefix}_{visit}")
    return coded


def dictionary_rows() -> list[dict]:
    """The data dictionary as written to CSV (``DICTIONARY_COLUMNS``): each
    column's type and description, and, for the columns that may hold one, the
    missing-data codes with their meaning."""
    coded = coded_columns()
    return [
        {
            "column": name,
            "type": kind,
            "description": text,
            "missing_codes": MISSING_CODES_TEXT if name in coded else "",
        }
        for name, kind, text in data_dictionary()
    ]


@dataclass
class AnalysisDataset:
    """The rows, as of ``cutoff``, generated at ``generated_at``; the count of
    participants left out for refusing data use; the data issues found
    (``outcomes.data_issues``, columns ``DATA_ISSUE_COLUMNS``)."""

    cutoff: datetime.date
    generated_at: datetime.datetime | None = None
    rows: list[dict] = field(default_factory=list)
    excluded_no_data_use: int = 0
    data_issues: list[dict] = field(default_factory=list)


def randomized_ids():
    """Subquery of the ids of every randomized participant. Form queries filter
    on it rather than on a list of ids (a 20,000-item IN list costs more to
    build than the query takes); rows of participants not in the dataset are
    simply never looked up."""
    return Slot.objects.filter(participant__in=participants_for_system()).values(
        "participant_id"
    )


def _randomized(cutoff: datetime.date) -> list[dict]:
    participants = participants_for_system()
    randomized_on = randomization_dates(participants)
    slots = (
        Slot.objects.filter(participant__in=participants)
        .values(
            "participant_id",
            "arm",
            "stratum__key",
            "participant__study_id",
            "participant__site__code",
            "participant__fracture_status",
            "participant__age_at_screening",
            "participant__sex",
        )
        .order_by("participant__study_id")
    )
    return [
        {**slot, "randomization_date": randomized_on[slot["participant_id"]]}
        for slot in slots
        if randomized_on[slot["participant_id"]] <= cutoff
    ]


def _days(start: datetime.date, end: datetime.date) -> int:
    return max(0, (end - start).days)


def _first_failure(failures: list[Event]) -> Event | None:
    order = {name: i for i, name in enumerate(FAILURE_TYPES)}
    return min(failures, key=lambda e: (e.date, order[e.kind], e.source), default=None)


def _last_contact(contacts: list[Event]) -> Event:
    def rank(event: Event) -> int:
        form = event.source.split(".")[0].split("[")[0]
        return len(CONTACT_PRECEDENCE) - CONTACT_PRECEDENCE.index(form)

    return max(contacts, key=lambda e: (e.date, rank(e)))


def _severe_30d(screened, surgery, withdrawal, cutoff):
    """(1/0/None, reasons) for the 30-day severe complication endpoint."""
    if surgery is None:
        return None, ""
    end = surgery + datetime.timedelta(days=SEVERE_WINDOW_DAYS)
    events = [*screened.severe_events, *screened.failures]
    if screened.death:
        events.append(screened.death)
    severe_kinds = {"death", "clavien_dindo", "reoperation"}
    reasons = sorted(
        {e.kind for e in events if e.kind in severe_kinds and surgery <= e.date <= end}
    )
    if reasons:
        return 1, " ".join(reasons)
    left_early = withdrawal is not None and withdrawal.date < end
    if end <= cutoff and not left_early:
        return 0, ""
    return None, ""


def _row(slot: dict, forms: FormsRead, cutoff: datetime.date) -> tuple[dict, list]:
    """The participant's dataset row and data issues."""
    pid = slot["participant_id"]
    record = forms.record(
        pid,
        study_id=slot["participant__study_id"],
        site=slot["participant__site__code"],
        randomized_on=slot["randomization_date"],
    )
    screened = events_screened(record)
    surgery, withdrawal, death = record.surgery, record.withdrawal, screened.death
    start = surgery or record.randomization
    contacts = [*screened.contacts, *([surgery] if surgery else [])]
    end = min(cutoff, withdrawal.date) if withdrawal else cutoff
    # Randomization always counts: a participant is never censored before it.
    last = _last_contact(
        [record.randomization, *(c for c in contacts if c.date <= end)]
    )
    if death and death.date < last.date:
        last = death
    failure = _first_failure(screened.failures)
    if failure and (death is None or failure.date <= death.date):
        failure_days, failure_cause = _days(start.date, failure.date), 1
    elif death:
        failure = None
        failure_days, failure_cause = _days(start.date, death.date), 2
    else:
        failure_days, failure_cause = _days(start.date, last.date), 0
    os_end = death.date if death else last.date
    severe, reasons = _severe_30d(
        screened, surgery and surgery.date, withdrawal, cutoff
    )
    row = {
        "study_id": record.study_id,
        "site": record.site,
        "arm": slot["arm"],
        "stratum": slot["stratum__key"],
        "fracture_status": slot["participant__fracture_status"],
        "age": slot["participant__age_at_screening"],
        "sex": slot["participant__sex"],
        "randomization_date": record.randomization.date,
        "surgery_date": surgery.date if surgery else None,
        "procedure": forms.procedure.get(pid, ""),
        "time_zero": start.date,
        "time_zero_source": start.source,
        "first_failure_date": failure.date if failure else None,
        "first_failure_type": failure.kind if failure else "",
        "failure_source": failure.source if failure else "",
        "death_date": death.date if death else None,
        "death_source": death.source if death else "",
        "death_cause": forms.death_cause[pid] if death else "",
        "last_alive_date": last.date,
        "censor_source": last.source,
        "withdrawal_date": withdrawal.date if withdrawal else None,
        "withdrawal_kind": withdrawal.kind if withdrawal else "",
        "os_days": _days(start.date, os_end),
        "os_event": 1 if death else 0,
        "failure_days": failure_days,
        "failure_cause": failure_cause,
        "ffs_days": min(failure_days, _days(start.date, os_end)),
        "ffs_event": 1 if failure_cause else 0,
        "severe_30d": severe,
        "severe_30d_reasons": reasons,
    }
    baseline = forms.baseline.get(pid, {})
    for name, _text in BASELINE_CHARACTERISTICS:
        row[name] = baseline.get(name)
    scores = forms.scores[pid]
    for visit in score_visits():
        for _field, prefix, _text in SCORES:
            row[f"{prefix}_{visit}"] = scores.get(f"{prefix}_{visit}")
    return row, screened.issues


def analysis_dataset(
    *, cutoff: datetime.date, generated_at: datetime.datetime | None = None
) -> AnalysisDataset:
    """The analysis dataset as of ``cutoff`` (rows ordered by study ID), as
    generated at ``generated_at`` (default: now), which decides whose refusal
    of data use applies (``outcomes.data_use``)."""
    generated_at = generated_at or timezone.now()
    ids = randomized_ids()
    forms = FormsRead(ids, cutoff)
    refused = refused_data_use(ids, generated_at=generated_at)
    dataset = AnalysisDataset(cutoff=cutoff, generated_at=generated_at)
    for slot in _randomized(cutoff):
        if slot["participant_id"] in refused:
            dataset.excluded_no_data_use += 1
            continue
        row, issues = _row(slot, forms, cutoff)
        dataset.rows.append(row)
        dataset.data_issues.extend(issues)
    return dataset


def arm_codes() -> list[str]:
    """Arm codes in configured order (``settings.RANDOMIZATION['ARMS']``)."""
    return [code for code, _label in settings.RANDOMIZATION["ARMS"]]

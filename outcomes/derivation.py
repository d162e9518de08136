"""Endpoint derivation: CRF data → the analysis dataset (PROTOCOL §10).

One row per randomized participant, built from *complete* (or signed) forms
only: a draft is not data until the site completes it. Everything is read as of
a data cut-off date: participants randomized after it are left out, and events
dated after it are ignored, so the same data and cut-off always give the same
rows (and the same digest, see ``outcomes.inputs``).

Rules (each column is described in ``DATA_DICTIONARY``):

* **Time zero** is the date of index surgery; for a participant never operated
  (by the cut-off) it is the randomization date (the randomization's local date
  at the site). Times are whole days from time zero; an event dated before time
  zero counts at day 0.
* **Failure** (primary endpoint) is the first of: a reoperation for any reason,
  radiographic implant failure at a follow-up visit (dated by the visit), or
  local recurrence/progression (the recurrence form's date, or a follow-up
  visit reporting local progression). Death before failure is a competing
  event: ``failure_cause`` is 1 (failure), 2 (death without failure) or 0
  (censored).
* **Last known alive** is the latest date on which the participant was seen
  alive: randomization, surgery, discharge, a follow-up visit reporting them
  alive, an adverse-event onset or resolution, a reoperation, a recurrence, or
  the date consent was withdrawn. Those still alive are censored there.
* **30-day severe complication**: within 30 days of surgery (day 0 to 30), a
  death, an adverse event of Clavien-Dindo grade IIIb or worse, or a
  reoperation. Evaluable when operated and either 30 days have passed by the
  cut-off without withdrawal first, or such an event occurred; blank otherwise.
* Participants who withdrew and did not allow their collected data to be used
  are left out (and counted in ``AnalysisDataset.excluded_no_data_use``).
* **Death and withdrawal** are read as the visit schedule reads them
  (``crf.schedule.inputs.deaths_recorded`` / ``withdrawals_recorded``): a
  complete or signed form; a draft Death form is no death and a draft
  Withdrawal form no censoring, here as on every page, dashboard, reminder and
  automatic check. The randomization date is
  ``randomization.selectors.randomization_dates``.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import QuerySet

from crf.models import (
    COMPLETE_STATUSES,
    AdverseEvent,
    Baseline,
    Discharge,
    FollowUp,
    LocalRecurrence,
    Operative,
    Reoperation,
    Withdrawal,
)
from crf.models.events import SEVERE_CLAVIEN_DINDO
from crf.schedule.inputs import deaths_recorded, withdrawals_recorded
from crf.schedule.visits import visit_definitions
from perform.selectors import participants_for_system
from randomization.models import Slot
from randomization.selectors import randomization_dates

SEVERE_WINDOW_DAYS = 30

# (field on Baseline / FollowUp, column prefix, description)
SCORES = (
    ("msts_percent", "msts", "MSTS 1993 lower extremity, % of 30 (0-100)"),
    ("tess_score", "tess", "TESS lower extremity score (0-100)"),
    ("eq5d_vas", "eq5d_vas", "EQ-5D-5L visual analogue scale (0-100)"),
    ("bpi_interference", "bpi_interference", "BPI interference score (0-10)"),
)
BASELINE_CHARACTERISTICS = (
    ("primary_cancer", "Primary cancer (Baseline form code)"),
    ("lesion_region", "Lesion region (Baseline form code)"),
    ("visceral_metastases", "Visceral metastases at baseline (1 yes, 0 no)"),
    ("bone_metastases", "Number of bone metastases (1, 2-4, 5+)"),
    ("ecog", "ECOG performance status (0-4)"),
    ("asa", "ASA class (1-5)"),
    ("mirels_total", "Mirels total score (4-12)"),
    ("haemoglobin_g_l", "Haemoglobin (g/L)"),
)
FAILURE_TYPES = ("reoperation", "implant_failure", "local_progression")


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
        ("first_failure_date", "date", "Date of first treatment failure"),
        (
            "first_failure_type",
            "text",
            "reoperation / implant_failure / local_progression (first; ties in "
            "this order)",
        ),
        ("death_date", "date", "Date of death"),
        ("death_cause", "text", "Primary cause of death (Death form code)"),
        ("last_alive_date", "date", "Last date known alive (see derivation rules)"),
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


@dataclass
class AnalysisDataset:
    cutoff: datetime.date
    rows: list[dict] = field(default_factory=list)
    excluded_no_data_use: int = 0


def _complete(source, cutoff_field: str | None, cutoff: datetime.date, ids, *fields):
    """Rows of the complete (or signed) forms of ``source`` (a model, or the
    queryset that already says which forms count), up to the cut-off."""
    if isinstance(source, QuerySet):
        queryset = source.filter(participant_id__in=ids)
    else:
        queryset = source.objects.filter(
            participant_id__in=ids, status__in=COMPLETE_STATUSES
        )
    if cutoff_field:
        queryset = queryset.filter(**{f"{cutoff_field}__lte": cutoff})
    return queryset.values("participant_id", *fields)


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


class _Events:
    """Per-participant dates and values read from the complete forms."""

    def __init__(self, ids, cutoff: datetime.date):
        self.surgery, self.procedure, self.discharge = {}, {}, {}
        self.death, self.withdrawal, self.baseline = {}, {}, {}
        self.failures = defaultdict(list)  # pid → [(date, type)]
        self.alive = defaultdict(list)  # pid → [dates seen alive]
        self.severe = defaultdict(list)  # pid → [(date, reason)]
        self.scores = defaultdict(dict)  # pid → {column: value}
        self._read(ids, cutoff)

    def _read(self, ids, cutoff):
        for row in _complete(
            Operative, "surgery_date", cutoff, ids, "surgery_date", "procedure"
        ):
            self.surgery[row["participant_id"]] = row["surgery_date"]
            self.procedure[row["participant_id"]] = row["procedure"]
        for row in _complete(
            Discharge, "discharge_date", cutoff, ids, "discharge_date"
        ):
            self.alive[row["participant_id"]].append(row["discharge_date"])
        for row in _complete(
            deaths_recorded(), "death_date", cutoff, ids, "death_date", "primary_cause"
        ):
            self.death[row["participant_id"]] = row
            self.severe[row["participant_id"]].append((row["death_date"], "death"))
        for row in _complete(
            withdrawals_recorded(),
            "withdrawal_date",
            cutoff,
            ids,
            "withdrawal_date",
            "kind",
            "data_use_permitted",
        ):
            self.withdrawal[row["participant_id"]] = row
            if row["kind"] == Withdrawal.Kind.WITHDRAWN:
                self.alive[row["participant_id"]].append(row["withdrawal_date"])
        for row in _complete(
            Reoperation, "reoperation_date", cutoff, ids, "reoperation_date"
        ):
            pid, date = row["participant_id"], row["reoperation_date"]
            self.failures[pid].append((date, "reoperation"))
            self.alive[pid].append(date)
            self.severe[pid].append((date, "reoperation"))
        for row in _complete(
            LocalRecurrence, "recurrence_date", cutoff, ids, "recurrence_date"
        ):
            pid, date = row["participant_id"], row["recurrence_date"]
            self.failures[pid].append((date, "local_progression"))
            self.alive[pid].append(date)
        self._read_adverse_events(ids, cutoff)
        self._read_follow_ups(ids, cutoff)
        self._read_baseline(ids)

    def _read_adverse_events(self, ids, cutoff):
        for row in _complete(
            AdverseEvent,
            "onset_date",
            cutoff,
            ids,
            "onset_date",
            "resolution_date",
            "clavien_dindo",
        ):
            pid = row["participant_id"]
            self.alive[pid].append(row["onset_date"])
            resolved = row["resolution_date"]
            if resolved and resolved <= cutoff:
                self.alive[pid].append(resolved)
            if row["clavien_dindo"] in SEVERE_CLAVIEN_DINDO:
                self.severe[pid].append((row["onset_date"], "clavien_dindo"))

    def _read_follow_ups(self, ids, cutoff):
        score_fields = [name for name, _prefix, _text in SCORES]
        for row in _complete(
            FollowUp,
            "visit_date",
            cutoff,
            ids,
            "visit",
            "visit_date",
            "vital_status",
            "implant_failure",
            "local_progression",
            *score_fields,
        ):
            pid, date = row["participant_id"], row["visit_date"]
            if row["vital_status"] == FollowUp.VitalStatus.ALIVE:
                self.alive[pid].append(date)
            if row["implant_failure"]:
                self.failures[pid].append((date, "implant_failure"))
            if row["local_progression"]:
                self.failures[pid].append((date, "local_progression"))
            self._scores(pid, row["visit"], row)

    def _read_baseline(self, ids):
        names = [name for name, _text in BASELINE_CHARACTERISTICS]
        score_fields = [name for name, _prefix, _text in SCORES]
        for row in _complete(Baseline, None, None, ids, *names, *score_fields):
            pid = row["participant_id"]
            self.baseline[pid] = {name: row[name] for name in names}
            self._scores(pid, "baseline", row)

    def _scores(self, pid, visit, row):
        for name, prefix, _text in SCORES:
            if row[name] is not None:
                self.scores[pid][f"{prefix}_{visit}"] = row[name]


def _days(start: datetime.date, end: datetime.date) -> int:
    return max(0, (end - start).days)


def _first_failure(failures: list[tuple]) -> tuple:
    if not failures:
        return None, ""
    order = {name: i for i, name in enumerate(FAILURE_TYPES)}
    return min(failures, key=lambda item: (item[0], order[item[1]]))


def _severe_30d(events: _Events, pid, surgery, withdrawal, cutoff):
    """(1/0/None, reasons) for the 30-day severe complication endpoint."""
    if surgery is None:
        return None, ""
    end = surgery + datetime.timedelta(days=SEVERE_WINDOW_DAYS)
    reasons = sorted(
        {reason for date, reason in events.severe[pid] if surgery <= date <= end}
    )
    if reasons:
        return 1, " ".join(reasons)
    left_early = withdrawal is not None and withdrawal["withdrawal_date"] < end
    if end <= cutoff and not left_early:
        return 0, ""
    return None, ""


def _row(
    slot: dict, events: _Events, cutoff: datetime.date, score_columns: list[str]
) -> dict:
    pid = slot["participant_id"]
    surgery = events.surgery.get(pid)
    randomized_on = slot["randomization_date"]
    time_zero = surgery or randomized_on
    death = events.death.get(pid)
    death_date = death["death_date"] if death else None
    withdrawal = events.withdrawal.get(pid)
    alive = [randomized_on, *events.alive[pid]]
    if surgery:
        alive.append(surgery)
    last_alive = max(d for d in alive if d <= cutoff)
    if death_date:
        last_alive = min(last_alive, death_date)
    failure_date, failure_type = _first_failure(events.failures[pid])
    if failure_date and (death_date is None or failure_date <= death_date):
        failure_days, failure_cause = _days(time_zero, failure_date), 1
    elif death_date:
        failure_date, failure_type = None, ""
        failure_days, failure_cause = _days(time_zero, death_date), 2
    else:
        failure_days, failure_cause = _days(time_zero, last_alive), 0
    os_end = death_date or last_alive
    severe, reasons = _severe_30d(events, pid, surgery, withdrawal, cutoff)
    row = {
        "study_id": slot["participant__study_id"],
        "site": slot["participant__site__code"],
        "arm": slot["arm"],
        "stratum": slot["stratum__key"],
        "fracture_status": slot["participant__fracture_status"],
        "age": slot["participant__age_at_screening"],
        "sex": slot["participant__sex"],
        "randomization_date": randomized_on,
        "surgery_date": surgery,
        "procedure": events.procedure.get(pid, ""),
        "time_zero": time_zero,
        "first_failure_date": failure_date,
        "first_failure_type": failure_type,
        "death_date": death_date,
        "death_cause": death["primary_cause"] if death else "",
        "last_alive_date": last_alive,
        "withdrawal_date": withdrawal["withdrawal_date"] if withdrawal else None,
        "withdrawal_kind": withdrawal["kind"] if withdrawal else "",
        "os_days": _days(time_zero, os_end),
        "os_event": 1 if death_date else 0,
        "failure_days": failure_days,
        "failure_cause": failure_cause,
        "ffs_days": min(failure_days, _days(time_zero, os_end)),
        "ffs_event": 1 if failure_cause else 0,
        "severe_30d": severe,
        "severe_30d_reasons": reasons,
    }
    baseline = events.baseline.get(pid, {})
    for name, _text in BASELINE_CHARACTERISTICS:
        row[name] = baseline.get(name)
    scores = events.scores[pid]
    for name in score_columns:
        row[name] = scores.get(name)
    return row


def analysis_dataset(*, cutoff: datetime.date) -> AnalysisDataset:
    """The analysis dataset as of ``cutoff`` (rows ordered by study ID)."""
    slots = _randomized(cutoff)
    events = _Events(randomized_ids(), cutoff)
    dataset = AnalysisDataset(cutoff=cutoff)
    score_columns = [
        f"{prefix}_{visit}" for visit in score_visits() for _f, prefix, _t in SCORES
    ]
    for slot in slots:
        withdrawal = events.withdrawal.get(slot["participant_id"])
        if withdrawal and withdrawal["data_use_permitted"] is False:
            dataset.excluded_no_data_use += 1
            continue
        dataset.rows.append(_row(slot, events, cutoff, score_columns))
    return dataset


def arm_codes() -> list[str]:
    """Arm codes in configured order (``settings.RANDOMIZATION['ARMS']``)."""
    return [code for code, _label in settings.RANDOMIZATION["ARMS"]]

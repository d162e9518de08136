"""The complete forms the derivation reads, per participant, as of a cut-off.

``FormsRead`` gathers every dated fact with its source (the form and date
field it came from, the vocabulary of ``outcomes.derivation``), the baseline
characteristics and the instrument scores. It decides nothing: which events
count is ``outcomes.data_issues.events_screened``'s business.

Death and withdrawal are read as the visit schedule reads them
(``crf.schedule.inputs.deaths_recorded`` / ``withdrawals_recorded``): a
complete or signed form; a draft Death form is no death and a draft
Withdrawal form no censoring, here as on every page, dashboard, reminder and
automatic check.

A value left missing with a missing-data code (PROTOCOL §7, the form's
``missing_codes``) is read as its code (``NA``, ``UNK``, ``ND``, ``ILL``,
``DEC``, ``DIED``), never as blank or 0: the baseline characteristics, the
procedure, the cause of death and the EQ VAS (``_coded``; the columns that may
hold one: ``outcomes.derivation.coded_columns``). Scores computed from items
(MSTS, TESS, BPI, Mirels) are blank when they cannot be computed.
"""

import datetime
from collections import defaultdict

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
from outcomes.data_issues import Event, ParticipantRecord

# (field on Baseline / FollowUp, column prefix, description)
SCORES = (
    ("msts_percent", "msts", "MSTS 1993 lower extremity, % of 30 (0-100)"),
    ("tess_score", "tess", "TESS lower extremity score (0-100)"),
    ("eq5d_vas", "eq5d_vas", "EQ-5D-5L visual analogue scale (0-100)"),
    ("bpi_interference", "bpi_interference", "BPI interference score (0-10)"),
)
BASELINE_CHARACTERISTICS = (
    (
        "primary_cancer_diagnosis",
        "Date of primary cancer diagnosis as entered: YYYY, YYYY-MM or "
        "YYYY-MM-DD (a partial date keeps only what is known)",
    ),
    ("primary_cancer", "Primary cancer (Baseline form code)"),
    ("lesion_region", "Lesion region (Baseline form code)"),
    ("visceral_metastases", "Visceral metastases at baseline (1 yes, 0 no)"),
    ("bone_metastases", "Number of bone metastases (1, 2-4, 5+)"),
    ("ecog", "ECOG performance status (0-4)"),
    ("asa", "ASA class (1-5)"),
    ("mirels_total", "Mirels total score (4-12)"),
    ("haemoglobin_g_l", "Haemoglobin (g/L)"),
)
RANDOMIZATION_SOURCE = "Randomization.allocated_at"


def follow_up_source(visit: str) -> str:
    """The source of a date read from the follow-up form of ``visit``."""
    return f"FollowUp[{visit}].visit_date"


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
    return queryset.values("participant_id", "missing_codes", *fields)


def _coded(row: dict, name: str):
    """The field's value, or its missing-data code when it has one."""
    codes = row["missing_codes"] or {}
    return codes[name] if name in codes else row[name]


class FormsRead:
    """Per-participant dated events and values read from the complete forms
    (``ids``: a subquery of participant ids), dated up to ``cutoff``."""

    def __init__(self, ids, cutoff: datetime.date):
        self.surgery, self.procedure = {}, {}
        self.death, self.death_cause, self.withdrawal = {}, {}, {}
        self.baseline = {}
        self.failures = defaultdict(list)  # pid → [Event(kind: failure type)]
        self.contacts = defaultdict(list)  # pid → [Event seen alive]
        self.discharges = defaultdict(list)
        self.severe_events = defaultdict(list)  # Clavien-Dindo ≥ IIIb AEs
        self.dead_visits = defaultdict(list)
        self.scores = defaultdict(dict)  # pid → {column: value}
        self._read(ids, cutoff)

    def record(self, pid, *, study_id, site, randomized_on) -> ParticipantRecord:
        """The participant's ``ParticipantRecord`` for ``events_screened``."""
        return ParticipantRecord(
            study_id=study_id,
            site=site,
            randomization=Event(randomized_on, "randomization", RANDOMIZATION_SOURCE),
            surgery=self.surgery.get(pid),
            withdrawal=self.withdrawal.get(pid),
            death=self.death.get(pid),
            failures=self.failures[pid],
            severe_events=self.severe_events[pid],
            discharges=self.discharges[pid],
            contacts=self.contacts[pid],
            dead_visits=self.dead_visits[pid],
        )

    def _read(self, ids, cutoff):
        for row in _complete(
            Operative, "surgery_date", cutoff, ids, "surgery_date", "procedure"
        ):
            pid = row["participant_id"]
            self.surgery[pid] = Event(
                row["surgery_date"], "surgery", "Operative.surgery_date"
            )
            self.procedure[pid] = _coded(row, "procedure")
        for row in _complete(
            Discharge, "discharge_date", cutoff, ids, "discharge_date"
        ):
            pid, date = row["participant_id"], row["discharge_date"]
            event = Event(date, "discharge", "Discharge.discharge_date")
            self.discharges[pid].append(event)
            self.contacts[pid].append(event)
        for row in _complete(
            deaths_recorded(), "death_date", cutoff, ids, "death_date", "primary_cause"
        ):
            pid = row["participant_id"]
            self.death[pid] = Event(row["death_date"], "death", "Death.death_date")
            self.death_cause[pid] = _coded(row, "primary_cause")
        for row in _complete(
            withdrawals_recorded(),
            "withdrawal_date",
            cutoff,
            ids,
            "withdrawal_date",
            "kind",
        ):
            pid, date = row["participant_id"], row["withdrawal_date"]
            event = Event(date, row["kind"], "Withdrawal.withdrawal_date")
            self.withdrawal[pid] = event
            if row["kind"] == Withdrawal.Kind.WITHDRAWN:
                # Withdrawing consent is a contact; being declared lost is not.
                self.contacts[pid].append(event)
        for model, field, kind in (
            (Reoperation, "reoperation_date", "reoperation"),
            (LocalRecurrence, "recurrence_date", "local_progression"),
        ):
            for row in _complete(model, field, cutoff, ids, field):
                event = Event(row[field], kind, f"{model.__name__}.{field}")
                self.failures[row["participant_id"]].append(event)
                self.contacts[row["participant_id"]].append(event)
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
            pid, onset = row["participant_id"], row["onset_date"]
            self.contacts[pid].append(
                Event(onset, "adverse_event", "AdverseEvent.onset_date")
            )
            resolved = row["resolution_date"]
            if resolved and resolved <= cutoff:
                self.contacts[pid].append(
                    Event(resolved, "adverse_event", "AdverseEvent.resolution_date")
                )
            if row["clavien_dindo"] in SEVERE_CLAVIEN_DINDO:
                self.severe_events[pid].append(
                    Event(onset, "clavien_dindo", "AdverseEvent.onset_date")
                )

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
            source = follow_up_source(row["visit"])
            if row["vital_status"] == FollowUp.VitalStatus.ALIVE:
                self.contacts[pid].append(Event(date, "visit", source))
            elif row["vital_status"] == FollowUp.VitalStatus.DEAD:
                self.dead_visits[pid].append(
                    Event(date, "dead", f"FollowUp[{row['visit']}].vital_status")
                )
            for kind in ("implant_failure", "local_progression"):
                if row[kind]:
                    self.failures[pid].append(Event(date, kind, source))
            self._scores(pid, row["visit"], row)
        # A missed visit can record "dead" too (the family phoned): it has no
        # visit date, so it is dated by the day the form was completed.
        missed_dead = _complete(
            FollowUp.objects.filter(
                status__in=COMPLETE_STATUSES,
                visit_date__isnull=True,
                vital_status=FollowUp.VitalStatus.DEAD,
                completed_at__date__lte=cutoff,
            ),
            None,
            cutoff,
            ids,
            "visit",
            "completed_at",
        )
        for row in missed_dead:
            self.dead_visits[row["participant_id"]].append(
                Event(
                    row["completed_at"].date(),
                    "dead",
                    f"FollowUp[{row['visit']}].vital_status",
                )
            )

    def _read_baseline(self, ids):
        names = [name for name, _text in BASELINE_CHARACTERISTICS]
        score_fields = [name for name, _prefix, _text in SCORES]
        for row in _complete(Baseline, None, None, ids, *names, *score_fields):
            pid = row["participant_id"]
            self.baseline[pid] = {name: _coded(row, name) for name in names}
            self._scores(pid, "baseline", row)

    def _scores(self, pid, visit, row):
        for name, prefix, _text in SCORES:
            value = _coded(row, name)
            if value is not None:
                self.scores[pid][f"{prefix}_{visit}"] = value

"""Which recorded events count for the endpoints, and the data issues found on
the way (PROTOCOL §10; the DSMB report's data-issues appendix, §11).

``events_screened`` is the one owner of these rules: the derivation
(``outcomes.derivation``) counts only the events it keeps, and the issues it
returns are the dataset's ``data_issues``, which the report lists and the
dataset export writes. Everything here is as of the data cut-off: forms dated
after it were never read.

The rules, and how each issue enters the endpoints:

* **Surgery before randomization** (``surgery_before_randomization``): listed;
  the surgery date stays time zero (the protocol's time zero is the index
  surgery, and the date on the Operative form is the only one there is).
* **Reoperation, implant failure, local progression or discharge before
  surgery** (``event_before_surgery``), or a failure dated before
  randomization of a participant never operated (``event_before_randomization``):
  listed and **not counted**, neither as a failure nor as a 30-day
  complication (its date stays a contact, which cannot move the censoring
  date: the surgery is a later one). An event cannot precede the operation it
  is a failure of, so the date is wrong; counted at day 0 (as the derivation
  once did for failures, but not for 30-day complications) it would put a
  fictitious early failure into the primary endpoint. Once the site corrects
  the date, the event counts where it belongs.
* **Events after withdrawal or loss to follow-up** (``event_after_withdrawal``,
  ``event_after_loss``): a death, a failure or a Clavien-Dindo ≥ IIIb adverse
  event dated after the Withdrawal form's date is listed and not counted; the
  derivation censors no later than that date (contacts after it are not used
  either), so time at risk and events end on the same day.
* **Follow-up recording "dead" without a complete Death form dated by the
  cut-off** (``dead_without_death_form``): listed; death is known only from a
  Death form, so the participant is censored at the last alive contact (the
  "dead" visit is not one). The automatic data query is raised by
  ``crf.queries``.
"""

import datetime
from dataclasses import dataclass, field

WITHDRAWN, LOST = "withdrawn", "lost_to_follow_up"

ISSUE_LABELS = {
    "surgery_before_randomization": "Surgery dated before randomization",
    "event_before_surgery": "Event dated before surgery",
    "event_before_randomization": "Event dated before randomization (not operated)",
    "event_after_withdrawal": "Event dated after withdrawal",
    "event_after_loss": "Event dated after loss to follow-up",
    "dead_without_death_form": 'Follow-up records "dead" without a Death form',
}
HANDLING = {
    "surgery_before_randomization": "surgery date kept as time zero",
    "event_before_surgery": "not counted",
    "event_before_randomization": "not counted",
    "event_after_withdrawal": "not counted; censored at withdrawal at the latest",
    "event_after_loss": "not counted; censored at loss to follow-up at the latest",
    "dead_without_death_form": "no death; censored at the last alive contact",
}
DATA_ISSUE_COLUMNS = [
    "study_id",
    "site",
    "issue",
    "source",
    "date",
    "compared_with",
    "compared_date",
    "handling",
]


@dataclass(frozen=True)
class Event:
    """A dated fact read from a complete form. ``source`` names the form and
    the date field it was read from, e.g. ``Reoperation.reoperation_date`` or
    ``FollowUp[6w].visit_date`` (see ``outcomes.derivation``)."""

    date: datetime.date
    kind: str
    source: str


@dataclass
class ParticipantRecord:
    """What the complete forms say of one participant, up to the cut-off."""

    study_id: str
    site: str
    randomization: Event
    surgery: Event | None = None
    withdrawal: Event | None = None  # kind: withdrawn / lost_to_follow_up
    death: Event | None = None
    failures: list[Event] = field(default_factory=list)
    severe_events: list[Event] = field(default_factory=list)  # clavien_dindo
    discharges: list[Event] = field(default_factory=list)
    contacts: list[Event] = field(default_factory=list)  # seen alive (any date)
    dead_visits: list[Event] = field(default_factory=list)


@dataclass
class Screened:
    """The events that count, and the issues found."""

    death: Event | None
    failures: list[Event]
    severe_events: list[Event]
    contacts: list[Event]
    issues: list[dict]


def _issue(record, kind: str, event: Event, against: Event) -> dict:
    return {
        "study_id": record.study_id,
        "site": record.site,
        "issue": kind,
        "source": event.source,
        "date": event.date,
        "compared_with": against.source,
        "compared_date": against.date,
        "handling": HANDLING[kind],
    }


def events_screened(record: ParticipantRecord) -> Screened:
    """The events of ``record`` that count for the endpoints, by the rules of
    the module docstring, and the data issues, in a stable order."""
    issues = []
    start = record.surgery or record.randomization
    if record.surgery and record.surgery.date < record.randomization.date:
        issues.append(
            _issue(
                record,
                "surgery_before_randomization",
                record.surgery,
                record.randomization,
            )
        )
    early = "event_before_surgery" if record.surgery else "event_before_randomization"

    def plausible(events: list[Event]) -> list[Event]:
        kept = []
        for event in events:
            if event.date < start.date:
                issues.append(_issue(record, early, event, start))
            else:
                kept.append(event)
        return kept

    failures = plausible(record.failures)
    if record.surgery:
        plausible(record.discharges)  # listed only: a discharge is no endpoint
    end = record.withdrawal
    late = "event_after_loss" if end and end.kind == LOST else "event_after_withdrawal"

    def before_end(events: list[Event]) -> list[Event]:
        if end is None:
            return events
        for event in events:
            if event.date > end.date:
                issues.append(_issue(record, late, event, end))
        return [event for event in events if event.date <= end.date]

    death = before_end([record.death] if record.death else [])
    failures = before_end(failures)
    severe_events = before_end(record.severe_events)
    contacts = record.contacts  # capped at withdrawal by the censoring rule
    if record.death is None:
        for visit in record.dead_visits:
            issues.append(
                _issue(record, "dead_without_death_form", visit, record.randomization)
                | {"compared_with": "Death form", "compared_date": None}
            )
    issues.sort(key=lambda i: (i["date"], i["issue"], i["source"]))
    return Screened(
        death=death[0] if death else None,
        failures=failures,
        severe_events=severe_events,
        contacts=contacts,
        issues=issues,
    )

"""One answer to "has this participant's follow-up ended?", from every reader
of the visit schedule's inputs (``crf.schedule.inputs``).

A draft Death or Withdrawal form does not end the schedule; a complete (or
signed) one does. Four participants, all operated 200 days ago with the 2-week
and 6-week visits done, and a Death or Withdrawal form dated day 100, saved
through the service as a draft or as complete. Every reader must give the
same answer: the participant page and the schedule API, the site dashboard
and the data-quality view (SQL), the automatic data checks, the reminder
sweep (SQL), the DSMB derivation and its visit table, and the participant's
status. With the schedule ended, the 4-month to 12-month visits are not
expected (the death or withdrawal came before their windows closed);
otherwise the 4-month and 6-month visits are overdue. Any one reader that
counted a draft would disagree.
"""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from crf.forms import services
from crf.models import DataQuery, Death, FollowUp, Operative, VisitReminder, Withdrawal
from crf.queries.automatic import MISSING_PREFIX, queries_autocheck
from crf.schedule import dashboards
from crf.schedule.reminders import reminders_sweep
from crf.schedule.visits import DONE, NOT_EXPECTED, OVERDUE, UPCOMING, visit_labels
from outcomes.derivation import analysis_dataset
from outcomes.inputs import report_inputs
from perform.models import Participant, ParticipantStatus
from tests.factories import api_client_for
from tests.outcomes.cohort import Cohort, allocation_list

DAY = datetime.timedelta(days=1)
TORONTO = ZoneInfo("America/Toronto")
NOW = datetime.datetime(2026, 3, 10, 12, 0, tzinfo=TORONTO)
TODAY = NOW.date()
SURGERY = TODAY - 200 * DAY
ENDED_ON = SURGERY + 100 * DAY  # before the 4-month window closes (day 136)

S = ParticipantStatus
# name: (form, saved as complete, the participant's status then)
CASES = {
    "draft death": (Death, False, S.RANDOMIZED),
    "draft withdrawal": (Withdrawal, False, S.RANDOMIZED),
    "complete death": (Death, True, S.DIED),
    "complete withdrawal": (Withdrawal, True, S.WITHDRAWN),
}
IN_FOLLOW_UP = {
    "2w": DONE,
    "6w": DONE,
    "4m": OVERDUE,
    "6m": OVERDUE,
    "9m": UPCOMING,
    "12m": UPCOMING,
}
ENDED = {"2w": DONE, "6w": DONE} | dict.fromkeys(
    ("4m", "6m", "9m", "12m"), NOT_EXPECTED
)


def ended(name: str) -> bool:
    """The one answer: only a complete form ends follow-up."""
    return CASES[name][1]


def expected_schedule(name: str) -> dict[str, str]:
    return ENDED if ended(name) else IN_FOLLOW_UP


def expected_overdue(name: str) -> set[str]:
    return {code for code, state in expected_schedule(name).items() if state == OVERDUE}


def ending_form(model, participant):
    if model is Death:
        return Death(
            participant=participant, death_date=ENDED_ON, primary_cause="progression"
        )
    return Withdrawal(
        participant=participant,
        kind=Withdrawal.Kind.WITHDRAWN,
        withdrawal_date=ENDED_ON,
        reason="Asked to stop the study visits",
        data_use_permitted=True,
    )


def people_build(users, site_a):
    """The four participants (study ID → case name); the ending forms saved
    through the service, as draft or complete."""
    coordinator = users["coordinator"]
    allocation_list(users["statistician"], [site_a])
    cohort = Cohort(site_a, coordinator)
    result = {}
    for name, (model, complete, _status) in CASES.items():
        p = cohort.add("IF", on=SURGERY - 2 * DAY)
        cohort.form(Operative, p, surgery_date=SURGERY, procedure="IF")
        for visit, day in (("2w", 14), ("6w", 42)):
            cohort.form(
                FollowUp,
                p,
                visit=visit,
                visit_date=SURGERY + day * DAY,
                vital_status="alive",
            )
        services.form_save(
            actor=coordinator, form=ending_form(model, p), complete=complete
        )
        result[p.study_id] = name
    return result


def page_schedules(client, user, people):
    """The visit timeline of each participant's forms hub (HTML)."""
    client.force_login(user)
    result = {}
    for study_id, name in people.items():
        response = client.get(reverse("crf:participant_forms", args=[study_id]))
        assert response.status_code == 200
        rows = re.findall(
            r'<tr data-visit="(\w+)">.*?data-visit-state="(\w+)"',
            response.content.decode(),
            re.DOTALL,
        )
        result[name] = dict(rows)
    return result


def api_schedules(user, people):
    """``GET /api/v1/participants/<study_id>/schedule/``."""
    api = api_client_for(user)
    result = {}
    for study_id, name in people.items():
        response = api.get(f"/api/v1/participants/{study_id}/schedule/")
        assert response.status_code == 200
        result[name] = {v["visit"]: v["state"] for v in response.json()}
    return result


def dashboard_overdue(user, people):
    """Overdue visits on the site dashboard (SQL)."""
    codes = {label: code for code, label in visit_labels().items()}
    tasks = dashboards.site_tasks(user=user, kind="overdue")
    result = {name: set() for name in people.values()}
    for task in tasks[0 : tasks.count()]:
        result[people[task.study_id]].add(codes[task.what.removesuffix(" follow-up")])
    return result


def quality_overdue(user):
    """Overdue visits counted by the data-quality view (SQL), per visit."""
    (site,) = [s for s in dashboards.data_quality(user=user) if s.participants]
    return {v.visit_code: v.overdue for v in site.visits}


def autocheck_overdue(people):
    """Missing-follow-up queries raised by the automatic checks."""
    queries_autocheck(now=NOW)
    result = {name: set() for name in people.values()}
    for study_id, code in DataQuery.objects.filter(
        check_code__startswith=MISSING_PREFIX
    ).values_list("participant__study_id", "check_code"):
        result[people[study_id]].add(code.removeprefix(MISSING_PREFIX))
    return result


def reminder_overdue(people):
    """Overdue visits listed by the reminder sweep (SQL)."""
    reminders_sweep(now=NOW)
    result = {name: set() for name in people.values()}
    for study_id, visit in VisitReminder.objects.filter(
        reason=VisitReminder.Reason.OVERDUE
    ).values_list("participant__study_id", "visit"):
        result[people[study_id]].add(visit)
    return result


def report_schedules(people):
    """The DSMB report's visit table (``outcomes.inputs``) at the cut-off."""
    result = {name: {} for name in people.values()}
    for row in report_inputs(cutoff=TODAY).visits:
        result[people[row["study_id"]]][row["visit"]] = row["state"]
    return result


def derivation_ends(people):
    """The analysis dataset: the date follow-up ended (death or withdrawal)."""
    result = {}
    for row in analysis_dataset(cutoff=TODAY).rows:
        ends = [d for d in (row["death_date"], row["withdrawal_date"]) if d]
        result[people[row["study_id"]]] = min(ends) if ends else None
    return result


def statuses(people):
    """The participants' lifecycle status (moved only by a complete form)."""
    rows = Participant.objects.filter(study_id__in=people).values_list(
        "study_id", "status"
    )
    return {people[study_id]: status for study_id, status in rows}


@pytest.mark.django_db
def test_a_draft_death_or_withdrawal_ends_follow_up_for_no_reader(
    client, users, site_a
):
    with time_machine.travel(NOW, tick=False):
        people = people_build(users, site_a)
        coordinator, manager = users["coordinator"], users["datamanager"]
        names = list(CASES)
        schedules = {name: expected_schedule(name) for name in names}
        overdue = {name: expected_overdue(name) for name in names}

        answers = {
            "participant status": statuses(people),
            # Participant page and API (crf.forms.selectors, Python).
            "forms hub page": page_schedules(client, coordinator, people),
            "schedule API": api_schedules(coordinator, people),
            # Dashboards (crf.schedule.sql).
            "site dashboard": dashboard_overdue(coordinator, people),
            "data quality": quality_overdue(manager),
            # Automatic checks (crf.queries.automatic): overdue-visit queries.
            "automatic checks": autocheck_overdue(people),
            # Reminder sweep (crf.schedule.sql): overdue visits listed.
            "reminder sweep": reminder_overdue(people),
            # DSMB report (outcomes): its visit table, the end of follow-up.
            "report visits": report_schedules(people),
            "derivation": derivation_ends(people),
        }

    assert answers == {
        "participant status": {name: case[2] for name, case in CASES.items()},
        "forms hub page": schedules,
        "schedule API": schedules,
        "site dashboard": overdue,
        "data quality": {
            code: sum(code in overdue[name] for name in names) for code in ENDED
        },
        "automatic checks": overdue,
        "reminder sweep": overdue,
        "report visits": schedules,
        "derivation": {name: ENDED_ON if ended(name) else None for name in names},
    }

"""A hand-built trial for questionnaire completion (``crf.epro.completion``):
two sites, participants operated on chosen days before a reference date,
windows closed, open and not yet open, a death, a visit recorded as missed,
an answer left in progress, and responses submitted in each mode.

The figures each test expects are counted by hand in ``EXPECTED`` below, from
the plan; nothing is computed by the code under test.
"""

import datetime
from zoneinfo import ZoneInfo

from crf.models import Death, FollowUp, Operative, PromResponse, ResponseMode
from crf.schedule.visits import visit_definitions
from tests.outcomes.cohort import Cohort, allocation_list

DAY = datetime.timedelta(days=1)
LINK, TABLET, PAPER = ResponseMode.LINK, ResponseMode.TABLET, ResponseMode.PAPER

# site, days since surgery at the reference date, {visit: mode submitted},
# extras. Windows (days after surgery): 2w 10-21, 6w 35-56, 4m 106-136; the
# baseline closes after the day of surgery.
PLAN = [
    ("TOR", 60, {"bl": PAPER, "2w": LINK, "6w": TABLET}, {}),
    ("TOR", 60, {"2w": LINK}, {"missed": "6w"}),
    ("TOR", 45, {"bl": TABLET}, {}),  # 2w closed unanswered; 6w open
    ("TOR", 40, {"bl": PAPER}, {"died_on_day": 30}),  # 2w overdue, 6w not due
    ("TOR", 40, {"2w": TABLET, "6w": LINK}, {}),  # 6w answered in its window
    ("HAM", 100, {"bl": PAPER, "2w": LINK, "6w": LINK}, {}),
    ("HAM", 100, {"6w": PAPER}, {}),
    ("HAM", 5, {"bl": TABLET}, {}),  # 2w not open yet
    ("HAM", 0, {}, {}),  # operated today: the baseline is open
    ("HAM", 30, {}, {"in_progress": "2w"}),  # started, never submitted
]

# Hand counts at the reference date: (completed, expected) per site and visit,
# completed by mode, open now.
EXPECTED = {
    ("TOR", "bl"): (3, 5),  # 1, 3, 4 answered; 2 and 5 not
    ("TOR", "2w"): (3, 5),  # 1, 2, 5 answered; 3 and 4 closed unanswered
    ("TOR", "6w"): (2, 3),  # 1 answered, 2 missed, 5 answered early; 3 open;
    #                         4 died before the window closed: not expected
    ("HAM", "bl"): (2, 4),  # Q1, Q3 answered; Q2, Q5 not; Q4's is open
    ("HAM", "2w"): (1, 3),  # Q1 answered; Q2 and Q5 (in progress) not
    ("HAM", "6w"): (2, 2),
}
LABELS = {
    ("TOR", "bl"): "3 / 5 (60%)",
    ("TOR", "2w"): "3 / 5 (60%)",
    ("TOR", "6w"): "2 / 3 (67%)",
    ("TOR", "all"): "8 / 13 (62%)",
    ("HAM", "bl"): "2 / 4 (50%)",
    ("HAM", "2w"): "1 / 3 (33%)",
    ("HAM", "6w"): "2 / 2 (100%)",
    ("HAM", "all"): "5 / 9 (56%)",
    ("all", "bl"): "5 / 9 (56%)",
    ("all", "2w"): "4 / 8 (50%)",
    ("all", "6w"): "4 / 5 (80%)",
    ("all", "all"): "13 / 22 (59%)",
}
# Submitted by mode (link, tablet, paper) and open now, per site.
MODES = {"TOR": (3, 3, 2), "HAM": (2, 1, 2), "all": (5, 4, 4)}
OPEN_NOW = {"TOR": 1, "HAM": 1, "all": 2}


def submitted_on(visit: str, surgery: datetime.date) -> datetime.date:
    """The day a questionnaire is answered: the day before surgery for the
    baseline, the day after the window opens for a follow-up visit."""
    if visit == "bl":
        return surgery - DAY
    start = {v.code: v.window_start_day for v in visit_definitions()}[visit]
    return surgery + (start + 1) * DAY


def prom_trial_build(users, site_a, site_b, *, today):
    """The plan, with ``today(site)`` the reference date of each site.
    Returns the participants in plan order."""
    allocation_list(users["statistician"], [site_a, site_b])
    cohorts = {
        "TOR": Cohort(site_a, users["coordinator"]),
        "HAM": Cohort(site_b, users["coordinator2"]),
    }
    people = []
    for n, (code, days, answered, extras) in enumerate(PLAN):
        cohort = cohorts[code]
        surgery = today(cohort.site) - days * DAY
        p = cohort.add("IF" if n % 2 else "RER", on=surgery - 2 * DAY)
        cohort.form(Operative, p, surgery_date=surgery, procedure="IF")
        zone = ZoneInfo(cohort.site.time_zone)
        for visit, mode in answered.items():
            at = datetime.datetime.combine(
                submitted_on(visit, surgery), datetime.time(12), tzinfo=zone
            )
            PromResponse.objects.create(
                participant=p,
                visit=visit,
                mode=mode,
                language="en",
                status=PromResponse.Status.SUBMITTED,
                entered_by=None if mode == LINK else cohort.actor,
                started_at=at - datetime.timedelta(minutes=20),
                last_saved_at=at,
                submitted_at=at,
            )
        if "missed" in extras:
            cohort.form(FollowUp, p, visit=extras["missed"], missed_reason="Too unwell")
        if "died_on_day" in extras:
            cohort.form(
                Death,
                p,
                death_date=surgery + extras["died_on_day"] * DAY,
                primary_cause="progression",
            )
        if "in_progress" in extras:
            at = datetime.datetime.combine(
                surgery + 12 * DAY, datetime.time(12), tzinfo=zone
            )
            PromResponse.objects.create(
                participant=p,
                visit=extras["in_progress"],
                mode=LINK,
                language="en",
                started_at=at,
                last_saved_at=at,
            )
        people.append(p)
    return people

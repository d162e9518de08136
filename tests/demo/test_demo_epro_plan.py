"""The demo's plan of questionnaire answers (``demo.epro.epro_plan``) never
plans a link answer on or after the day the coordinator enters the visit's
form: that entry writes the answers transcribed from paper (a paper response),
and a later link answer for the same visit cannot exist. On 2026-12-05 the
default demo planned one for a visit entered on its window's first day, and
``make run`` failed on the duplicate response."""

import datetime
from types import SimpleNamespace

from crf.epro.items import PROM_FIELDS
from crf.schedule.visits import visit_definitions
from demo.clinical import PlannedCase, PlannedForm
from demo.epro import epro_plan

SURGERY = datetime.date(2026, 6, 1)


class FirstChoice:
    """A generator that always draws the same way: under every share (a
    contact recorded, the visit answered, no item declined), and the first
    of every weighted choice (e-mail, then the personal link, then the
    shortest delay: 2 days)."""

    def random(self) -> float:
        return 0.5

    def choices(self, population, weights=None, k=1):
        return [population[0]] * k

    def choice(self, population):
        return population[0]


def case_with_two_week_visit(entered_after_opening: int):
    two_weeks = next(v for v in visit_definitions() if v.code == "2w")
    opens = SURGERY + datetime.timedelta(days=two_weeks.window_start_day)
    prom = dict.fromkeys(PROM_FIELDS, 1)
    form = PlannedForm(
        key="follow-up",
        values={"visit": "2w", "visit_date": opens, **prom},
        entered=opens + datetime.timedelta(days=entered_after_opening),
    )
    case = PlannedCase(
        index=0,
        site_code="TOR",
        status="randomized",
        surgery_date=SURGERY,
        end=SURGERY + datetime.timedelta(days=400),
        forms=[form],
    )
    plan = [SimpleNamespace(decision_date=SURGERY - datetime.timedelta(days=7))]
    return plan, case, form, opens


def test_a_visit_entered_on_its_windows_first_day_keeps_its_paper_answers():
    plan, case, form, _opens = case_with_two_week_visit(0)
    contacts, responses = epro_plan(plan, [case], FirstChoice())
    assert [c.channel for c in contacts] == ["email"]
    assert responses == []
    assert form.held_back is None
    assert all(form.values[name] == 1 for name in PROM_FIELDS)


def test_a_link_answer_comes_before_the_day_the_form_is_entered():
    plan, case, form, opens = case_with_two_week_visit(5)
    _contacts, responses = epro_plan(plan, [case], FirstChoice())
    (response,) = responses
    assert response.mode == "link"
    assert response.answered == opens + datetime.timedelta(days=2)
    assert response.answered < form.entered
    # The form's questionnaire items wait for the answer (held back).
    assert form.held_back == dict.fromkeys(PROM_FIELDS, 1)
    assert all(form.values[name] is None for name in PROM_FIELDS)

    # Entered the day after opening: answered that first evening at the latest.
    plan, case, form, opens = case_with_two_week_visit(1)
    _contacts, (response,) = epro_plan(plan, [case], FirstChoice())
    assert response.answered == opens < form.entered

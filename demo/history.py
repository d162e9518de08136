"""The demo trial's history, replayed in time order, each action at its moment.

``History`` collects actions (a moment and what to do), then ``replay`` runs
them in order of their moments inside ``demo.clock.at``, so every timestamp
the platform writes (status history, audit events, forms, queries, e-mails)
is the simulated one. Actions after ``now`` are not run: they have not
happened yet.

What happens when, in the sites' own time zones:

* the coordinator screens in the morning and records consent in the afternoon;
* the Methods Centre randomizes on the randomization day (15:00 UTC);
* the coordinator enters forms at the end of the clinic day they were entered;
* the data manager raises and closes queries in the Methods Centre's day, the
  site answers at the end of its day; the investigator signs a week on;
* every Monday night the automatic checks and the visit reminders run, as
  beat runs them nightly (weekly here, to keep seeding fast);
* a paused site stops recruiting on its pause date.
"""

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from crf.forms import services as crf_services
from crf.forms.registry import FORMS
from crf.models import CrfForm
from crf.queries import services as crf_queries
from crf.queries.automatic import queries_autocheck
from crf.schedule.reminders import reminders_sweep
from demo import clock
from demo.allocation import _participant_randomize
from demo.clinical import PlannedCase
from demo.common import _days
from demo.epro import form_for_entry
from demo.forms import MAX_SIGNED
from demo.participants import (
    PlannedParticipant,
    _participant_decide,
    _participant_screen,
)
from demo.queries import QUERY_ANSWER, QUERY_CLOSE, PlannedQuery
from perform import services
from perform.models import Participant, Site, User

UTC = datetime.UTC
SIGN_AFTER_DAYS = 7
SWEEP_HOUR_UTC = 2


def local_moment(day: datetime.date, time_zone: str, hour: int, minute: int = 0):
    """``minute`` minutes after ``hour`` o'clock on ``day`` at the site, as an
    aware UTC date-time."""
    local = datetime.datetime.combine(
        day, datetime.time(hour), tzinfo=ZoneInfo(time_zone)
    ) + datetime.timedelta(minutes=minute)
    return local.astimezone(UTC)


def utc_moment(day: datetime.date, hour: int, minute: int = 0):
    return datetime.datetime.combine(
        day, datetime.time(hour), tzinfo=UTC
    ) + datetime.timedelta(minutes=minute)


@dataclass(order=True)
class Action:
    moment: datetime.datetime
    seq: int
    run: Callable[[], object] = field(compare=False)


@dataclass
class Trial:
    """What the actions share: the database rows made so far, by plan index."""

    plan: list[PlannedParticipant]
    sites: dict[str, Site]
    coordinators: dict[str, User]
    users: dict[str, User]
    met_answers: dict[str, bool]
    password: str
    participants: dict[int, Participant] = field(default_factory=dict)
    arms: dict[int, str] = field(default_factory=dict)
    written: dict[tuple[int, str], CrfForm] = field(default_factory=dict)
    signed: int = 0


class History:
    def __init__(self, now: datetime.datetime):
        self.now = now
        self.actions: list[Action] = []

    def add(self, moment: datetime.datetime, run: Callable[[], object]) -> None:
        if moment <= self.now:
            self.actions.append(Action(moment, len(self.actions), run))

    def replay(self, progress: Callable[..., Iterable]) -> None:
        for action in progress(
            sorted(self.actions), total=len(self.actions), desc="Trial history"
        ):
            with clock.at(action.moment):
                action.run()


def participants_add(history: History, trial: Trial) -> None:
    """Screening, consent decisions and randomizations."""
    for i, planned in enumerate(trial.plan):
        site = trial.sites[planned.site_code]
        coordinator = trial.coordinators[planned.site_code]
        tz = site.time_zone

        def screen(i=i, planned=planned, site=site, coordinator=coordinator):
            trial.participants[i] = _participant_screen(
                planned,
                site=site,
                coordinator=coordinator,
                met_answers=trial.met_answers,
            )

        history.add(local_moment(planned.screening_date, tz, 9 + i % 3, i % 60), screen)
        if planned.decision_date is None:
            continue

        def decide(i=i, planned=planned, coordinator=coordinator):
            _participant_decide(planned, trial.participants[i], coordinator=coordinator)

        history.add(local_moment(planned.decision_date, tz, 14, i % 60), decide)
        if planned.course is None:
            continue

        def randomize(i=i):
            trial.arms[i] = _participant_randomize(
                trial.participants[i], randomizer=trial.users["randomizer"]
            )

        day = planned.course.randomization_date
        history.add(utc_moment(day, 15, i % 60), randomize)


def forms_add(history: History, trial: Trial, cases: list[PlannedCase]) -> None:
    """Each case's forms, on their days of entry; the investigator signs some."""
    for case in cases:
        coordinator = trial.coordinators[case.site_code]
        tz = trial.sites[case.site_code].time_zone
        for position, planned_form in enumerate(case.forms):

            def write(case=case, planned_form=planned_form, coordinator=coordinator):
                participant = trial.participants[case.index]
                values = planned_form.values_for(trial.arms.get(case.index))
                form = form_for_entry(
                    FORMS[planned_form.key].model, participant, values, planned_form
                )
                crf_services.form_save(
                    actor=coordinator,
                    form=form,
                    complete=planned_form.complete,
                    reason=planned_form.reason,
                )
                trial.written.setdefault((case.index, planned_form.key), form)
                return form

            minute = (case.index % 12) * 5 + 3 * position
            history.add(local_moment(planned_form.entered, tz, 16, minute), write)
            if planned_form.sign:

                def sign(case=case, planned_form=planned_form):
                    form = trial.written.get((case.index, planned_form.key))
                    if form is None or trial.signed >= MAX_SIGNED:
                        return
                    crf_services.form_sign(
                        actor=trial.users["investigator"],
                        form=form,
                        password=trial.password,
                    )
                    trial.signed += 1

                day = _days(planned_form.entered, SIGN_AFTER_DAYS)
                history.add(local_moment(day, tz, 18, case.index % 60), sign)


def queries_add(history: History, trial: Trial, queries: list[PlannedQuery]) -> None:
    """The data manager's queries, the sites' answers and the closes."""
    raised: dict[int, object] = {}
    for n, planned in enumerate(queries):
        site_code = trial.plan[planned.index].site_code
        tz = trial.sites[site_code].time_zone

        def raise_(n=n, planned=planned):
            form = trial.written[(planned.index, planned.key)]
            value = getattr(form, planned.field_name)
            raised[n] = crf_queries.query_raise(
                actor=trial.users["datamanager"],
                form=form,
                field_name=planned.field_name,
                text=planned.text.format(**{planned.field_name: value}),
            )

        def answer(n=n, site_code=site_code):
            raised[n] = crf_queries.query_answer(
                actor=trial.coordinators[site_code], query=raised[n], text=QUERY_ANSWER
            )

        def close(n=n):
            crf_queries.query_close(
                actor=trial.users["datamanager"], query=raised[n], text=QUERY_CLOSE
            )

        history.add(utc_moment(planned.raised, 13, n % 60), raise_)
        if planned.answered:
            history.add(local_moment(planned.answered, tz, 17, n % 60), answer)
        if planned.closed:
            history.add(utc_moment(planned.closed, 14, n % 60), close)


def sweeps_add(history: History, first: datetime.date, last: datetime.date) -> None:
    """The nightly jobs, every Monday night from ``first`` to ``last``."""
    day = _days(first, (7 - first.weekday()) % 7)
    while day <= last:
        moment = utc_moment(day, SWEEP_HOUR_UTC)

        def sweep(moment=moment):
            queries_autocheck(now=moment)
            reminders_sweep(now=moment)

        history.add(moment, sweep)
        day = _days(day, 7)


def pauses_add(history: History, trial: Trial, pauses: dict[str, datetime.date]):
    """Recruitment paused by the data manager at the sites that paused."""
    for code, day in pauses.items():

        def pause(code=code):
            with services.audit_context(
                actor=trial.users["datamanager"], reason="Demo data: recruitment paused"
            ):
                site = trial.sites[code]
                site.is_active = False
                site.save(update_fields=["is_active"])

        history.add(utc_moment(day, 10), pause)

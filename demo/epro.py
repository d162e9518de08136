"""The demo's patient-reported outcomes (PROTOCOL §13): contact preferences,
survey invitations and reminders, and each visit's questionnaires by mode.

Planned from a generator of its own (derived from the demo seed), so the rest
of the demo draws what it drew before:

* **Contact preferences**, recorded by the site coordinator on the day of
  consent for most randomized participants: mostly e-mail (example.org
  addresses), some text messages (+1 416 555 01xx), some clinic only (no
  messages); French for some participants at the European sites and most
  at Montreal.
* **Each visit's questionnaires** (a follow-up form entered complete with its
  TESS, EQ-5D-5L and BPI values): by personal link for most participants who
  get messages, on the clinic tablet on the visit day, or on paper (the
  coordinator types them into the follow-up form, and ``form_save`` records
  the paper response: ``crf.epro.corrections.prom_after_save``). Some are
  never answered, more of them later in the year (about 98% answered at 2
  weeks, three in four at 12 months): the form is entered without them.

The link and tablet answers are submitted through the core
(``response_submit``: the window checked, the answers written into the
visit's form); the coordinator's later entry of that form keeps them (it adds
the clinical items only). A link answered needs its invitation, a tablet
answer an open window (the operative form entered, as the sweep needs too):
when there is none, the coordinator transcribes the answers from paper.

The invitations and reminders come from the real sweep
(``crf.epro.invitations.epro_sweep``), run every third day of the history; their
messages are demo history, cancelled and never sent (``demo.seed``).
"""

import datetime
import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from crf.epro.invitations import epro_sweep
from crf.epro.items import PAGES, PROM_FIELDS
from crf.epro.responses import SurveyClosed, response_submit
from crf.models import (
    ContactPreference,
    FollowUp,
    PromResponse,
    ResponseMode,
    SurveyInvitation,
)
from crf.schedule.visits import visit_definitions
from demo.clinical import PlannedCase, PlannedForm
from demo.common import _days
from demo.sites import SITE_CATALOGUE
from perform import services

# Randomized participants whose preferences the site recorded at consent.
CONTACT_SHARE = 0.88
CHANNELS = (("email", 64), ("sms", 20), ("clinic", 16))
AMERICAS = {"Canada", "United States"}
FRENCH_SHARE = {"MTL": 0.6, "europe": 0.2}
# fmt: off
FIRST_NAMES = ("anna", "marc", "sofia", "jan", "lucia", "tom", "ines", "david",
               "maria", "pieter", "elena", "sam", "chloe", "luc", "nora", "ali")
LAST_NAMES = ("martin", "smith", "rossi", "bakker", "muller", "dubois", "chen",
              "novak", "garcia", "larsen", "okafor", "tremblay", "weber", "silva")
# fmt: on
# Share of visits whose questionnaires are never answered, by visit.
UNANSWERED = {"2w": 0.02, "6w": 0.05, "4m": 0.1, "6m": 0.15, "9m": 0.2, "12m": 0.25}
# (mode, weight): participants who get messages mostly answer by link.
MESSAGED_MODES = (("link", 85), ("tablet", 8), ("paper", 7))
CLINIC_MODES = (("tablet", 55), ("paper", 45))
# Days from the window's opening to a link answer: the demo's sweep (every
# third day) sends the link by day 2; most answer soon after, others after a
# reminder (3, 6 and 9 days after the invitation).
LINK_DELAYS = ((2, 22), (3, 14), (4, 8), (5, 14), (6, 7), (8, 12), (9, 5),
               (11, 12), (12, 6))  # fmt: skip
CODES = ("NA", "DEC")  # "does not apply" (TESS), "I prefer not to answer"
ANSWERING_TIME = datetime.timedelta(minutes=9)
DECLINED_ITEM_SHARE = 0.01  # "I prefer not to answer", per EQ-5D or BPI item
SWEEP_HOUR_UTC = 12  # the hourly sweep's first run of the sites' working day
SWEEP_EVERY_DAYS = 3  # the reminders' spacing (``settings.EPRO``)


@dataclass
class PlannedContact:
    index: int
    channel: str
    email: str
    phone: str
    language: str
    recorded: datetime.date

    @property
    def messaged(self) -> bool:
        return self.channel in ("email", "sms")


@dataclass
class PlannedResponse:
    """A visit's questionnaires answered by link or tablet (paper ones are the
    coordinator's entry of the form)."""

    index: int
    form: PlannedForm
    visit: str
    mode: str
    answered: datetime.date
    answers: dict[str, str]  # field → the text the respondent posts
    prom: dict  # the form's values, transcribed from paper if not answered
    language: str = "en"
    done: bool = False


def epro_plan(plan, cases: list[PlannedCase], rng: random.Random):
    """Contact preferences and the link and tablet answers; the follow-up
    forms' questionnaire values are taken off the forms they come to by
    link or tablet (and off the unanswered ones)."""
    contacts = {}
    for case in cases:
        planned = plan[case.index]
        if planned.decision_date is None or rng.random() >= CONTACT_SHARE:
            continue
        contacts[case.index] = _contact(case, planned.decision_date, rng)
    windows = {v.code: v for v in visit_definitions()}
    responses = []
    for case in cases:
        contact = contacts.get(case.index)
        for form in case.of("follow-up"):
            visit_date = form.values.get("visit_date")
            if not form.complete or visit_date is None:
                continue  # missed, or a draft: left as planned
            code = form.values["visit"]
            prom = {n: form.values.get(n) for n in PROM_FIELDS}
            if rng.random() < UNANSWERED[code]:
                form.values |= dict.fromkeys(PROM_FIELDS)
                continue
            modes = MESSAGED_MODES if contact and contact.messaged else CLINIC_MODES
            mode = rng.choices(*zip(*modes, strict=True))[0]
            if mode == "paper":
                continue
            opens = _days(case.surgery_date, windows[code].window_start_day)
            closes = _days(case.surgery_date, windows[code].window_end_day)
            if mode == "link":
                delay = rng.choices(*zip(*LINK_DELAYS, strict=True))[0]
                if _days(form.entered, -1) < opens:
                    # The form was entered on the window's first day: no
                    # evening inside the window before it, so the answers
                    # were on paper (the form's own values).
                    continue
                # In the evening, by the day before the coordinator enters
                # the visit's form.
                last = min(closes, _days(form.entered, -1))
                answered = min(_days(opens, delay), last)
            else:
                answered = visit_date
            form.values |= dict.fromkeys(PROM_FIELDS)
            form.held_back = prom
            responses.append(
                PlannedResponse(
                    case.index,
                    form,
                    code,
                    mode,
                    answered,
                    _answers(prom, rng),
                    prom,
                    language=contact.language if contact else "en",
                )
            )
    return list(contacts.values()), responses


def _contact(case, consent: datetime.date, rng) -> PlannedContact:
    channel = rng.choices(*zip(*CHANNELS, strict=True))[0]
    country = next(s.country for s in SITE_CATALOGUE if s.code == case.site_code)
    french = FRENCH_SHARE.get(
        case.site_code, 0 if country in AMERICAS else FRENCH_SHARE["europe"]
    )
    name = f"{rng.choice(FIRST_NAMES)}.{rng.choice(LAST_NAMES)}{case.index % 90 + 10}"
    return PlannedContact(
        case.index,
        channel,
        email=f"{name}@example.org" if channel == "email" else "",
        phone=f"+141655501{case.index % 100:02d}" if channel == "sms" else "",
        language="fr" if rng.random() < french else "en",
        recorded=consent,
    )


def _answers(prom: dict, rng) -> dict[str, str]:
    """What the respondent posts for the planned values: a TESS item left
    empty does not apply to them; now and then an item declined."""
    answers = {}
    for name in PROM_FIELDS:
        value = prom.get(name)
        if value is None:
            answers[name] = "NA" if name.startswith("tess_") else "DEC"
        elif not name.startswith("tess_") and rng.random() < DECLINED_ITEM_SHARE:
            answers[name] = "DEC"
        else:
            answers[name] = str(value)
    return answers


def contacts_add(history, trial, contacts: list[PlannedContact]) -> None:
    """Each contact preference, recorded after the consent on its day."""
    from demo.history import local_moment

    for contact in contacts:
        site_code = trial.plan[contact.index].site_code
        coordinator = trial.coordinators[site_code]

        def record(contact=contact, coordinator=coordinator):
            with services.audit_context(actor=coordinator, reason=""):
                ContactPreference.objects.create(
                    participant=trial.participants[contact.index],
                    electronic_contact=contact.messaged,
                    channel=contact.channel,
                    email=contact.email,
                    phone=contact.phone,
                    language=contact.language,
                    recorded_by=coordinator,
                )

        tz = trial.sites[site_code].time_zone
        history.add(local_moment(contact.recorded, tz, 15, contact.index % 60), record)


def responses_add(history, trial, responses: list[PlannedResponse]) -> None:
    """Link answers in the evening (after the day's sweep sent the link),
    tablet answers in the morning clinic, before the coordinator enters the
    visit's form at the end of that day."""
    from demo.history import local_moment

    for n, planned in enumerate(responses):
        site_code = trial.plan[planned.index].site_code
        tz = trial.sites[site_code].time_zone
        hour = 19 if planned.mode == "link" else 11
        moment = local_moment(planned.answered, tz, hour, n % 60)
        history.add(moment, lambda planned=planned: _answer(trial, planned))


def _answer(trial, planned: PlannedResponse) -> None:
    """The respondent's answers, all pages finished, submitted through
    ``response_submit`` (which checks the window and writes the visit's form).
    The pages are written at once rather than page by page: the planned
    values are valid, and it keeps seeding fast."""
    participant = trial.participants[planned.index]
    invitation, entered_by = None, None
    if planned.mode == ResponseMode.LINK:
        invitation = SurveyInvitation.objects.filter(
            participant=participant, visit=planned.visit
        ).first()
        if invitation is None:
            return  # no link sent (yet): the coordinator transcribes paper
    else:
        entered_by = trial.coordinators[trial.plan[planned.index].site_code]
    now = timezone.now()
    codes = {n: v for n, v in planned.answers.items() if v in CODES}
    try:
        with transaction.atomic():
            response = PromResponse.objects.create(
                participant=participant,
                visit=planned.visit,
                mode=planned.mode,
                language=planned.language,
                invitation=invitation,
                entered_by=entered_by,
                answers={
                    n: int(v) for n, v in planned.answers.items() if n not in codes
                },
                missing_codes=codes,
                pages_done=list(PAGES),
                started_at=now - ANSWERING_TIME,
                last_saved_at=now,
            )
            response_submit(response, now=now)
    except SurveyClosed:
        return  # the window not open (no surgery date yet): paper instead
    if invitation is not None:
        SurveyInvitation.objects.filter(pk=invitation.pk).update(
            last_opened_at=now - ANSWERING_TIME
        )
    planned.done = True
    planned.form.held_back = None


def form_for_entry(model, participant, values: dict, planned_form: PlannedForm):
    """The form the coordinator saves: the visit's follow-up written by the
    participant's answers, completed with the clinical items (the answers
    kept as submitted), else a new form with the planned values (plus the
    answers transcribed from paper when the link or tablet was not used)."""
    if planned_form.held_back:
        values = values | planned_form.held_back
    if model is FollowUp:
        current = FollowUp.objects.filter(
            participant=participant, visit=values["visit"]
        ).first()
        if current is not None:
            for name, value in values.items():
                if name not in PROM_FIELDS:
                    setattr(current, name, value)
            return current
    return model(participant=participant, **values)


def sweeps_add(history, first: datetime.date, last: datetime.date) -> None:
    """The invitation and reminder sweep, every ``SWEEP_EVERY_DAYS`` days
    (hourly in production; as the demo's other nightly jobs run weekly, to
    keep seeding fast). The reminders fall due 3 days apart, each on a day of
    the sweep; an invitation waits up to two days for it."""
    from demo.history import utc_moment

    day = first
    while day <= last:
        moment = utc_moment(day, SWEEP_HOUR_UTC)
        history.add(moment, lambda moment=moment: epro_sweep(now=moment))
        day = _days(day, SWEEP_EVERY_DAYS)

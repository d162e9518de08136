"""Builders for the survey page tests: a randomized participant whose
questionnaires open on a given day after surgery, invited by the sweep, and
the answers a respondent gives page by page."""

import datetime

from django.utils import timezone

from crf.epro.invitations import epro_sweep
from crf.epro.items import PAGES
from crf.epro.links import token_for
from crf.models import ContactPreference, Operative, SurveyInvitation
from crf.schedule.visits import site_today
from tests.crf.bulk import form_kwargs, participants_add

DAY = datetime.timedelta(days=1)

# A complete set of answers, with a TESS item that does not apply and an
# EQ-5D dimension the respondent prefers not to answer.
ANSWERS = {
    "tess": {
        **{name: "4" for name in PAGES["tess"]},
        "tess_2": "NA",
        "tess_3": "2",
    },
    "eq5d": {
        "eq5d_mobility": "2",
        "eq5d_self_care": "1",
        "eq5d_usual_activities": "3",
        "eq5d_pain_discomfort": "DEC",
        "eq5d_anxiety_depression": "1",
        "eq5d_vas": "70",
    },
    "bpi": {**{name: "4" for name in PAGES["bpi"]}, "bpi_walking_ability": "7"},
}


def participant_operated(site, actor, *, days_ago: int, email="pat@example.org"):
    """A randomized participant at ``site`` operated ``days_ago`` days ago
    (site calendar), agreeing to e-mail, in English."""
    (person,) = participants_add(site, 1, actor=actor)
    today = site_today(site.time_zone)
    Operative.objects.create(
        **form_kwargs(person, actor, surgery_date=today - days_ago * DAY)
    )
    ContactPreference.objects.create(
        participant=person,
        electronic_contact=True,
        channel="email",
        email=email,
        language="en",
        recorded_by=actor,
    )
    return person


def invited(person, visit="2w", *, days_from_now: int = 0) -> str:
    """Run the sweep (``days_from_now`` days away) and return the token of
    ``person``'s invitation at ``visit``."""
    epro_sweep(now=timezone.now() + days_from_now * DAY)
    invitation = SurveyInvitation.objects.get(participant=person, visit=visit)
    return token_for(invitation.pk, invitation.nonce)


def page_post(client, url, page, answers, action="next", **extra):
    return client.post(url, {"page": page, "action": action, **answers}, **extra)


def all_pages_post(client, url, **extra):
    """Answer every page through the survey, submitting on the last."""
    last = list(PAGES)[-1]
    for page in PAGES:
        response = page_post(
            client,
            url,
            page,
            ANSWERS[page],
            action="submit" if page == last else "next",
            **extra,
        )
    return response


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def expected_scores() -> dict:
    """The scores ``crf.forms.scoring`` gives for ``ANSWERS``."""
    from crf.forms import scoring

    tess = [_number(ANSWERS["tess"][name]) for name in PAGES["tess"]]
    eq5d = {d: _number(ANSWERS["eq5d"][f"eq5d_{d}"]) for d in scoring.EQ5D_DIMENSIONS}
    bpi = {
        n: _number(ANSWERS["bpi"][f"bpi_{n}"]) for n in scoring.BPI_INTERFERENCE_ITEMS
    }
    return {
        "tess_score": scoring.tess_score(tess),
        "eq5d_profile": scoring.eq5d_profile(eq5d) or "",
        "eq5d_vas": 70,
        "bpi_interference": scoring.bpi_interference(bpi),
    }

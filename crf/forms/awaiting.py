"""The "awaiting randomization" queue: consented participants not yet
randomized, oldest consent first, with the days they have waited, what blocks
their randomization and what to check before it.

* **Blocks randomization**: ``randomization.services.randomization_blockers``,
  the randomize action's own rule (consent, every eligibility criterion
  recorded and met, stratification data), and no active allocation list.
* **Check first** (never blocking, as on the randomize confirmation page): the
  baseline form not entered or still a draft, and a baseline whose fracture
  status disagrees with the one recorded at screening
  (``crf.forms.selectors.fracture_status_warnings``, the randomize
  confirmation page's own warning).

It lives in the CRF app because it reads the baseline (randomization sits
below the CRFs and cannot). Scope through ``participants_for``: the Methods
Centre (randomizers among them) sees every site, site staff their own. The
randomize link is shown to those who may randomize; the others get the
participant's page.
"""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.db.models import Exists, F, Max, OuterRef, Q
from django.shortcuts import render
from django.views.decorators.http import require_GET

from crf.forms.selectors import fracture_status_warnings
from crf.models import Baseline, FormStatus
from crf.schedule.visits import site_today
from perform import selectors as core_selectors
from perform.eligibility import participant_eligibility
from perform.models import ConsentRecord, Participant, ParticipantStatus
from randomization.selectors import active_list
from randomization.services import randomization_blockers

RANDOMIZE_PERMISSIONS = (
    "randomization.randomize_participant",
    "randomization.view_allocation",
)


@dataclass(frozen=True)
class AwaitingRandomization:
    participant: Participant
    consented_on: datetime.date | None
    days_waiting: int | None
    baseline: Baseline | None
    blockers: list[str] = field(default_factory=list)
    to_check: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AwaitingQueue:
    rows: list[AwaitingRandomization]
    randomization_open: bool


def participants_awaiting_randomization(
    user, *, now: datetime.datetime | None = None
) -> AwaitingQueue:
    """Consented participants in ``user``'s scope, oldest consent first
    (then by study ID), with blockers and checks: a fixed number of queries."""
    given = ConsentRecord.objects.filter(
        participant=OuterRef("pk"), decision=ConsentRecord.Decision.GIVEN
    )
    participants = list(
        core_selectors.participants_for(user)
        .filter(status=ParticipantStatus.CONSENTED)
        .annotate(
            consented_on=Max(
                "consents__decision_date",
                filter=Q(consents__decision=ConsentRecord.Decision.GIVEN),
            ),
            has_given_consent=Exists(given),
        )
        .prefetch_related("eligibility_answers")
        .order_by(F("consented_on").asc(nulls_first=True), "study_id")
    )
    ids = [p.pk for p in participants]
    allocation_list = active_list()
    factors = (
        allocation_list.factors
        if allocation_list
        else settings.RANDOMIZATION["STRATIFICATION_FACTORS"]
    )
    criteria = core_selectors.criteria_active()
    baselines = {
        b.participant_id: b for b in Baseline.objects.filter(participant__in=ids)
    }
    fracture_warnings = fracture_status_warnings(ids)
    rows = []
    for participant in participants:
        baseline = baselines.get(participant.pk)
        to_check = []
        if baseline is None:
            to_check.append("Baseline form not entered.")
        elif baseline.status == FormStatus.DRAFT:
            to_check.append("Baseline form is a draft.")
        to_check.extend(fracture_warnings.get(participant.pk, []))
        consented_on = participant.consented_on
        today = site_today(participant.site.time_zone, now=now)
        rows.append(
            AwaitingRandomization(
                participant=participant,
                consented_on=consented_on,
                days_waiting=(today - consented_on).days if consented_on else None,
                baseline=baseline,
                blockers=[
                    reason[:1].upper() + reason[1:] + "."
                    for reason in randomization_blockers(
                        participant,
                        factors,
                        eligibility=participant_eligibility(
                            participant, criteria=criteria
                        ),
                    )
                ],
                to_check=to_check,
            )
        )
    return AwaitingQueue(rows=rows, randomization_open=allocation_list is not None)


@require_GET
@permission_required(
    ("perform.view_participant", "crf.view_forms"), raise_exception=True
)
def awaiting_randomization(request):
    queue = participants_awaiting_randomization(request.user)
    return render(
        request,
        "crf/awaiting_randomization.html",
        {
            "queue": queue,
            "can_randomize": request.user.has_perms(RANDOMIZE_PERMISSIONS),
            "all_sites": core_selectors.user_sees_all_sites(request.user),
        },
    )

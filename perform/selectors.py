"""Reads of trial data. The single, site-scoped door to participant data.

Every view, API endpoint, export and report that touches participant-level
data starts from ``participants_for(user)`` (or ``sites_for(user)``); nothing
else filters by site. A user sees:

* every site, if they hold ``perform.view_all_sites`` (Methods Centre);
* the sites they are linked to, if they hold ``perform.view_participant``;
* nothing otherwise (DSMB members, users with no role, anonymous).

Objects outside that scope answer 404, never 403, so their existence is not
revealed (PROTOCOL §2).
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from perform.eligibility import eligibility_evaluate, participant_eligibility
from perform.models import (
    ConsentRecord,
    EligibilityAnswer,
    EligibilityCriterion,
    Participant,
    ParticipantStatus,
    ParticipantStatusChange,
    Site,
)


def user_sees_all_sites(user) -> bool:
    return bool(user.is_authenticated and user.has_perm("perform.view_all_sites"))


def sites_for(user) -> QuerySet[Site]:
    """Sites whose participants ``user`` may see."""
    if not (user.is_authenticated and user.is_active):
        return Site.objects.none()
    if not user.has_perm("perform.view_participant"):
        return Site.objects.none()
    if user_sees_all_sites(user):
        return Site.objects.all()
    return Site.objects.filter(memberships__user=user)


def screening_sites_for(user) -> QuerySet[Site]:
    """Active sites at which ``user`` may screen new patients."""
    if not user.has_perm("perform.screen_participant"):
        return Site.objects.none()
    return sites_for(user).filter(is_active=True)


def participants_for(user) -> QuerySet[Participant]:
    """Participants ``user`` may see: the root of every participant query."""
    return Participant.objects.filter(site__in=sites_for(user)).select_related("site")


def participants_for_system() -> QuerySet[Participant]:
    """Every participant, for the platform's own background work (reminder
    sweeps, safety alerts, DSMB reports), which decides who may read what it
    produces. Never for a page or the API: those use ``participants_for``."""
    return Participant.objects.select_related("site")


def participant_get(*, user, study_id: str) -> Participant:
    """One participant in ``user``'s scope, or 404."""
    return get_object_or_404(participants_for(user), study_id=study_id)


def participant_list(
    *,
    user,
    site_code: str | None = None,
    status: str | None = None,
    search: str | None = None,
) -> QuerySet[Participant]:
    """The dashboard list, filtered; newest screening first."""
    qs = participants_for(user)
    if site_code:
        qs = qs.filter(site__code=site_code.upper())
    if status:
        qs = qs.filter(status=status)
    if search:
        qs = qs.filter(study_id__icontains=search.strip())
    return qs.order_by("-screening_date", "-id")


def participant_status_counts(*, user, site_code: str | None = None) -> list[tuple]:
    """(status, label, n) for every lifecycle status, in lifecycle order."""
    qs = participants_for(user)
    if site_code:
        qs = qs.filter(site__code=site_code.upper())
    counts = dict(qs.order_by().values_list("status").annotate(n=Count("id")))
    return [
        (value, label, counts.get(value, 0))
        for value, label in ParticipantStatus.choices
    ]


def participant_detail(*, user, study_id: str) -> Participant:
    """A participant with answers, consents and status history prefetched."""
    qs = participants_for(user).prefetch_related(
        Prefetch(
            "eligibility_answers",
            queryset=EligibilityAnswer.objects.select_related("criterion"),
        ),
        Prefetch(
            "status_changes",
            queryset=ParticipantStatusChange.objects.select_related("changed_by"),
        ),
        Prefetch(
            "consents", queryset=ConsentRecord.objects.select_related("recorded_by")
        ),
    )
    return get_object_or_404(qs, study_id=study_id)


def criteria_active() -> list[EligibilityCriterion]:
    return list(EligibilityCriterion.objects.filter(is_active=True))


def participant_answers(participant: Participant) -> dict[str, bool | None]:
    """Criterion code → answer, in one query."""
    return dict(
        EligibilityAnswer.objects.filter(participant=participant).values_list(
            "criterion__code", "answer"
        )
    )


_REACHED_CONSENT = {
    ParticipantStatus.CONSENTED,
    ParticipantStatus.RANDOMIZED,
    ParticipantStatus.WITHDRAWN,
    ParticipantStatus.LOST_TO_FOLLOW_UP,
    ParticipantStatus.DIED,
    ParticipantStatus.COMPLETED,
}
_REACHED_RANDOMIZATION = _REACHED_CONSENT - {ParticipantStatus.CONSENTED}


@dataclass(frozen=True)
class ScreeningSummary:
    screened: int
    pending: int
    ineligible: int
    eligible: int
    declined: int
    awaiting_consent: int
    consented: int
    awaiting_randomization: int
    randomized: int
    by_status: dict[str, int]
    ineligibility_reasons: list[tuple[str, int]]
    by_site: list[dict]


def screening_summary(*, user) -> ScreeningSummary:
    """CONSORT-style counts of the screening log in ``user``'s scope.

    A consented participant may later be withdrawn etc.; the flow counts each
    participant at every stage they have passed.
    """
    scoped = participants_for(user)
    by_status = dict(
        scoped.order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )

    def total(statuses):
        return sum(by_status.get(s, 0) for s in statuses)

    screened = sum(by_status.values())
    consented = total(_REACHED_CONSENT)
    randomized = total(_REACHED_RANDOMIZATION)
    declined = by_status.get(ParticipantStatus.DECLINED, 0)
    ineligible = by_status.get(ParticipantStatus.INELIGIBLE, 0)
    pending = by_status.get(ParticipantStatus.SCREENED, 0)

    # The reasons are the eligibility function's (perform.eligibility), over
    # the active checklist: the criteria not met, and the minimum age.
    # Three queries, however many participants.
    reasons = Counter()
    criteria = criteria_active()
    code_of = {c.pk: c.code for c in criteria}
    found_ineligible = scoped.filter(status=ParticipantStatus.INELIGIBLE).order_by()
    answers = defaultdict(dict)
    for participant_id, criterion_id, answer in EligibilityAnswer.objects.filter(
        participant__in=found_ineligible, criterion_id__in=code_of
    ).values_list("participant_id", "criterion_id", "answer"):
        answers[participant_id][code_of[criterion_id]] = answer
    for participant_id, age in found_ineligible.values_list("id", "age_at_screening"):
        result = eligibility_evaluate(
            criteria=criteria, answers=answers[participant_id], age=age
        )
        if result.age_reason:
            reasons[f"Age below the minimum of {settings.TRIAL['MIN_AGE']} years"] += 1
        reasons.update(criterion.text for criterion in result.unmet_criteria)

    site_rows = (
        sites_for(user)
        .annotate(
            screened=Count("participants"),
            ineligible=Count(
                "participants",
                filter=Q(participants__status=ParticipantStatus.INELIGIBLE),
            ),
            declined=Count(
                "participants",
                filter=Q(participants__status=ParticipantStatus.DECLINED),
            ),
            randomized=Count(
                "participants",
                filter=Q(participants__status__in=list(_REACHED_RANDOMIZATION)),
            ),
        )
        .values(
            "code",
            "name",
            "target_enrolment",
            "screened",
            "ineligible",
            "declined",
            "randomized",
        )
        .order_by("code")
    )
    return ScreeningSummary(
        screened=screened,
        pending=pending,
        ineligible=ineligible,
        eligible=screened - pending - ineligible,
        declined=declined,
        awaiting_consent=by_status.get(ParticipantStatus.ELIGIBLE, 0),
        consented=consented,
        awaiting_randomization=by_status.get(ParticipantStatus.CONSENTED, 0),
        randomized=randomized,
        by_status=by_status,
        ineligibility_reasons=reasons.most_common(),
        by_site=list(site_rows),
    )


@dataclass(frozen=True)
class ScreeningLogRow:
    study_id: str
    site: str
    screening_date: Any
    age: int
    sex: str
    status: str
    status_label: str
    reasons: list[str]
    notes: str


def screening_log(*, user, site_code: str | None = None) -> list[ScreeningLogRow]:
    """The screening log in ``user``'s scope: every screened patient with the
    criteria that excluded them (two queries, however many participants)."""
    qs = participants_for(user).order_by("site__code", "sequence")
    if site_code:
        qs = qs.filter(site__code=site_code.upper())
    qs = qs.prefetch_related("eligibility_answers")
    criteria = criteria_active()
    rows = []
    for p in qs:
        result = participant_eligibility(p, criteria=criteria)
        reasons = [result.age_reason] if result.age_reason else []
        reasons += [criterion.text for criterion in result.unmet_criteria]
        rows.append(
            ScreeningLogRow(
                study_id=p.study_id,
                site=p.site.code,
                screening_date=p.screening_date,
                age=p.age_at_screening,
                sex=p.get_sex_display(),
                status=p.status,
                status_label=p.get_status_display(),
                reasons=reasons,
                notes=p.screening_notes,
            )
        )
    return rows

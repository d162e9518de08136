"""Reads that list work to do on a participant's forms, in trial order: the
next form that needs entry ("save and open the next form"), the forms waiting
for the investigator's signature, the forms the Methods Centre may lock, and
one visit's follow-up forms across a site.

Trial order is the registry's (PROTOCOL §7: baseline, operative, discharge,
the follow-up visits in schedule order, adverse events, reoperations, local
recurrence, death, withdrawal, deviations), repeatable forms by id.

A form *needs entry* when the participant's status allows it
(``crf.forms.rules.form_allowed_for``), it is not complete, and it is either
expected of every participant (baseline, operative, discharge), a follow-up
whose window is open or has passed (due or overdue), or a draft already
started (any other form: adverse events, death, ... are entered when they
happen, so only their drafts wait for the site).

Every function takes a participant already read through the site-scoped
selector (``perform.selectors.participant_get``), or the user for the one
that spans a site.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet

from crf.forms.registry import FORMS, PER_VISIT, REPEATABLE, FormSpec, form_url
from crf.forms.rules import form_allowed_for
from crf.forms.selectors import participant_forms_overview
from crf.models import COMPLETE_STATUSES, CrfForm, FollowUp, FormStatus
from crf.schedule.visits import DUE, OVERDUE, visit_definitions, visit_labels
from perform.models import Participant
from perform.selectors import participants_for

# Forms every randomized participant is expected to have (the others are
# entered when their event happens).
EXPECTED_OF_EVERYONE = ("baseline", "operative", "discharge")
_REGISTRY_ORDER = {key: index for index, key in enumerate(FORMS)}


def trial_position(spec: FormSpec, *, visit: str | None = None, pk=None) -> tuple:
    """Where a form sits in trial order (a sort key)."""
    visits = [v.code for v in visit_definitions()]
    visit_index = visits.index(visit) if visit in visits else 0
    return (_REGISTRY_ORDER[spec.key], visit_index, pk or 0)


@dataclass(frozen=True)
class FormEntry:
    """One of a participant's forms, entered (``form``) or not yet."""

    participant: Participant
    spec: FormSpec
    form: CrfForm | None
    visit: str | None = None

    @property
    def position(self) -> tuple:
        return trial_position(
            self.spec, visit=self.visit, pk=self.form.pk if self.form else None
        )

    @property
    def label(self) -> str:
        if self.visit:
            return f"{self.spec.label}, {visit_labels()[self.visit]}"
        if self.spec.kind == REPEATABLE and self.form:
            return f"{self.spec.label} #{self.form.pk}: {self.form}"
        return str(self.spec.label)

    @property
    def url(self) -> str:
        return form_url(
            self.participant.study_id,
            self.spec,
            visit=self.visit,
            pk=self.form.pk if self.form else None,
        )

    @property
    def token(self) -> str:
        """What a page posts back to name this form as it was shown: the
        registry key, id and version (``key:id:version``)."""
        return f"{self.spec.key}:{self.form.pk}:{self.form.version}"


def participant_forms_in_trial_order(participant: Participant) -> list[FormEntry]:
    """Every form ``participant`` has, and every one that needs entry, in trial
    order (a fixed number of queries: ``participant_forms_overview``)."""
    overview = participant_forms_overview(participant)
    due_visits = {v.code for v in overview.schedule if v.state in (DUE, OVERDUE)}
    entries = []
    for spec in FORMS.values():
        allowed = form_allowed_for(spec, participant)
        if spec.kind == PER_VISIT:
            for visit in visit_definitions():
                form = overview.follow_ups.get(visit.code)
                if form is not None or (allowed and visit.code in due_visits):
                    entries.append(FormEntry(participant, spec, form, visit.code))
        elif spec.kind == REPEATABLE:
            entries.extend(
                FormEntry(participant, spec, form)
                for form in overview.repeatable[spec.key]
            )
        else:
            form = overview.single[spec.key]
            if form is not None or (allowed and spec.key in EXPECTED_OF_EVERYONE):
                entries.append(FormEntry(participant, spec, form))
    return sorted(entries, key=lambda entry: entry.position)


def _needs_entry(entry: FormEntry) -> bool:
    if not form_allowed_for(entry.spec, entry.participant):
        return False
    return entry.form is None or entry.form.status == FormStatus.DRAFT


def participant_forms_needing_entry(participant: Participant) -> list[FormEntry]:
    """The forms the site still has to enter or complete, in trial order."""
    return [
        entry
        for entry in participant_forms_in_trial_order(participant)
        if _needs_entry(entry)
    ]


def participant_next_form(
    participant: Participant, *, after: tuple | None = None
) -> FormEntry | None:
    """The first form that needs entry after the position ``after`` in trial
    order (``trial_position``; from the start when None), or None when no
    later form needs entry. The one rule behind "save and open the next
    form"."""
    for entry in participant_forms_needing_entry(participant):
        if after is None or entry.position > after:
            return entry
    return None


def participant_forms_to_sign(participant: Participant) -> list[FormEntry]:
    """Complete forms not yet signed nor locked (a locked form cannot be
    signed), in trial order: what the investigator signs at once."""
    return [
        entry
        for entry in participant_forms_in_trial_order(participant)
        if entry.form is not None
        and entry.form.status == FormStatus.COMPLETE
        and not entry.form.locked
    ]


def participant_forms_to_lock(participant: Participant) -> list[FormEntry]:
    """Complete (or signed) forms not yet locked, in trial order."""
    return [
        entry
        for entry in participant_forms_in_trial_order(participant)
        if entry.form is not None
        and entry.form.status in COMPLETE_STATUSES
        and not entry.form.locked
    ]


def visit_forms_to_lock(*, user, site, visit: str) -> QuerySet[FollowUp]:
    """One visit's complete (or signed) follow-up forms at ``site`` not yet
    locked, in the user's scope, by study ID."""
    return (
        FollowUp.objects.filter(
            participant__in=participants_for(user).filter(site=site),
            visit=visit,
            status__in=COMPLETE_STATUSES,
            locked=False,
        )
        .select_related("participant")
        .order_by("participant__study_id")
    )


def forms_by_token(
    participant: Participant, tokens: Iterable[str]
) -> tuple[list[tuple[CrfForm, int]], list[str]]:
    """The forms of ``participant`` that tokens (``FormEntry.token``) name,
    each with the version the page showed, and the tokens that name no form
    of this participant (malformed, or another participant's)."""
    found, unknown = [], []
    for token in tokens:
        key, _, rest = token.partition(":")
        pk, _, version = rest.partition(":")
        spec = FORMS.get(key)
        if spec is None or not pk.isdigit() or not version.isdigit():
            unknown.append(token)
            continue
        form = spec.model.objects.filter(participant=participant, pk=pk).first()
        if form is None:
            unknown.append(token)
        else:
            found.append((form, int(version)))
    return found, unknown

"""The datasets of a data export (PROTOCOL §14), built from the database for
one user: a participants dataset and one dataset per case report form, ready
for the writers of ``outcomes.exports.EXPORT_WRITERS``.

Whose data: the participants of ``perform.selectors.participants_for(user)``,
the one site-scoped door (a coordinator exports their own site's
participants only). As in every dataset (PROTOCOL §10, ``outcomes.data_use``),
a participant who withdrew and refused the use of their data is left out once
that refusal is recorded, whatever the cut-off.

The cut-off applies the rule of the DSMB analysis dataset
(``outcomes.derivation``, ``outcomes.records``):

* only participants randomized on or before the cut-off (the randomization's
  date at the site, ``randomization.selectors.randomization_dates``) are
  exported, with their forms; participants never randomized by then are not;
* a form dated after the cut-off is left out. A form is dated by its event
  date (``EVENT_DATE_FIELDS``: surgery, visit, onset, death ... date); a form
  without one (a missed follow-up visit) by the day it was completed (UTC),
  as the analysis dates a missed visit recording a death; a draft without an
  event date cannot be placed in time and is left out;
* the Baseline form is exported whatever its date, as the analysis reads the
  baseline characteristics.

Without a cut-off every participant in scope is exported (screened,
ineligible and declined ones too) with every form, drafts included: the
``form_status`` column tells drafts from complete and signed forms.

The arm: PROTOCOL §2 makes the trial open-label at the sites (coordinators see
allocations) and exports serve the statistician and the data manager, so the
participants dataset carries the arm to the users who may see every arm of
their scope (``arms_shown_to``); for anyone else the column is left out.
Within-stratum sequence numbers and block data are never exported.

Queries: one for each form dataset, and a few for the participants (their
rows, randomization dates, allocations and refusals of data use), however
many participants there are.
"""

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from crf.forms.registry import FORMS, PER_VISIT, REPEATABLE, FormSpec
from crf.schedule.visits import visit_definitions
from outcomes.data_use import refused_data_use
from outcomes.exports.dataset import Dataset, ExportDataError, Variable
from outcomes.exports.form_variables import (
    SITE,
    STUDY_ID,
    data_cells,
    data_variables,
    identifying_variables,
)
from perform.models import FractureStatus, ParticipantStatus, Sex
from perform.selectors import participants_for, sites_for
from randomization.models import Slot
from randomization.selectors import every_arm_shown_to, randomization_dates

# The date that places each form in time (the registry's ``never_coded``
# dates: they are never missing on a complete form).
EVENT_DATE_FIELDS = {
    "baseline": "assessment_date",
    "operative": "surgery_date",
    "discharge": "discharge_date",
    "follow-up": "visit_date",
    "adverse-event": "onset_date",
    "reoperation": "reoperation_date",
    "local-recurrence": "recurrence_date",
    "death": "death_date",
    "withdrawal": "withdrawal_date",
    "deviation": "deviation_date",
}
# Forms read whatever their date, as the analysis dataset reads them.
UNDATED_FORMS = frozenset({"baseline"})
PARTICIPANTS = "participants"


def export_datasets(
    *,
    user,
    forms: Iterable[str] | None = None,
    fields: Iterable[str] | None = None,
    sites: Iterable[str] | None = None,
    visits: Iterable[str] | None = None,
    cutoff: datetime.date | None = None,
) -> list[Dataset]:
    """The participants dataset, then one dataset per chosen form (registry
    order) with rows ordered by study ID (then visit, or form number).

    ``forms``: registry keys (default all); ``fields``: field names, keeping
    in each form dataset its identifying columns and the chosen fields it has
    (a form holding none of them is left out; the participants dataset is
    always whole); ``sites``: site codes; ``visits``: follow-up visit codes
    (per-visit forms only); ``cutoff``: see the module docstring. An unknown
    form, field, site (or one outside the user's scope) or visit raises
    ``ExportDataError`` naming it.
    """
    specs = _chosen_forms(forms)
    chosen_fields = _chosen_fields(specs, fields)
    visit_codes = _chosen_visits(visits)
    scope = _scope(user, sites)
    participant_rows, kept = _participants(user, scope, cutoff)
    datasets = [_participants_dataset(user, participant_rows)]
    for spec in specs:
        variables = data_variables(spec)
        if chosen_fields is not None:
            variables = [v for v in variables if v.name in chosen_fields]
            if not variables:
                continue
        rows = _form_rows(spec, variables, scope, kept, cutoff, visit_codes)
        datasets.append(
            Dataset(
                name=spec.key.replace("-", "_"),
                label=spec.label,
                variables=[*identifying_variables(spec), *variables],
                rows=rows,
            )
        )
    return datasets


def export_choices_check(
    *,
    user,
    forms: Iterable[str] | None = None,
    fields: Iterable[str] | None = None,
    sites: Iterable[str] | None = None,
    visits: Iterable[str] | None = None,
) -> None:
    """Check the choices as ``export_datasets`` does, without reading any
    row: raises the same ``ExportDataError`` for an unknown form, field, site
    (or one outside ``user``'s scope) or visit. For a request that is built
    later by a worker (``outcomes.data_export``)."""
    _chosen_fields(_chosen_forms(forms), fields)
    _chosen_visits(visits)
    _scope(user, sites)


def arms_shown_to(user) -> bool:
    """Whether the export carries the arm: the user may see allocations and
    sees the arm of every allocation in scope, as the randomization log's and
    the participant page's rules have it (``randomization.selectors``): site
    staff for their sites, and the roles that see the arms in the log (data
    manager, statistician). The randomizer, who sees only the arms it has
    just allocated, gets no arm column."""
    return user.has_perm("randomization.view_allocation") and every_arm_shown_to(user)


def _unknown(kind: str, names: Iterable[str], known: Iterable[str]) -> None:
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ExportDataError(
            f"Unknown {kind}: {', '.join(unknown)} "
            f"(choose from {', '.join(sorted(known))})."
        )


def _chosen_forms(forms) -> list[FormSpec]:
    if forms is None:
        return list(FORMS.values())
    forms = set(forms)
    _unknown("form", forms, FORMS)
    return [spec for key, spec in FORMS.items() if key in forms]


def _chosen_fields(specs: list[FormSpec], fields) -> set[str] | None:
    if fields is None:
        return None
    fields = set(fields)
    known = {variable.name for spec in specs for variable in data_variables(spec)}
    _unknown("field", fields, known)
    return fields


def _chosen_visits(visits) -> set[str] | None:
    if visits is None:
        return None
    visits = set(visits)
    _unknown("visit", visits, [visit.code for visit in visit_definitions()])
    return visits


def _scope(user, sites) -> QuerySet:
    """The user's participants, at the chosen sites (codes in their scope)."""
    scope = participants_for(user)
    if sites is None:
        return scope
    codes = {code.upper() for code in sites}
    # Sites outside the scope are as unknown as sites that do not exist
    # (PROTOCOL §2: never reveal another site's existence).
    _unknown("site", codes, sites_for(user).values_list("code", flat=True))
    return scope.filter(site__code__in=codes)


def _participants(user, scope, cutoff) -> tuple[list[dict], set[int]]:
    """The participants' rows (with randomization date and arm) and their
    ids, as the cut-off and refusals of data use leave them."""
    randomized_on = randomization_dates(scope)
    arms = {}
    if arms_shown_to(user):
        slots = Slot.objects.filter(participant__in=scope)
        arms = dict(slots.values_list("participant_id", "arm"))
    refused = refused_data_use(scope.values("pk"), generated_at=timezone.now())
    rows = []
    for row in scope.order_by("study_id").values(
        "pk",
        "study_id",
        "site__code",
        "status",
        "screening_date",
        "age_at_screening",
        "sex",
        "fracture_status",
    ):
        pid = row["pk"]
        randomized = randomized_on.get(pid)
        if pid in refused or (
            cutoff is not None and (randomized is None or randomized > cutoff)
        ):
            continue
        rows.append({**row, "randomization_date": randomized, "arm": arms.get(pid)})
    return rows, {row["pk"] for row in rows}


def _choices(text_choices) -> dict[str, str]:
    return {choice.value: str(choice.label) for choice in text_choices}


def _participants_dataset(user, rows: list[dict]) -> Dataset:
    variables = [
        STUDY_ID,
        SITE,
        Variable("status", "Participant status", "choice", _choices(ParticipantStatus)),
        Variable("screening_date", "Date of screening", "date"),
        Variable("age", "Age at screening (years)", "integer"),
        Variable("sex", "Sex", "choice", _choices(Sex)),
        Variable(
            "fracture_status",
            "Stratification factor: fracture status at screening",
            "choice",
            _choices(FractureStatus),
        ),
        Variable(
            "randomization_date", "Date of randomization (site local date)", "date"
        ),
    ]
    show_arm = arms_shown_to(user)
    if show_arm:
        arms = dict(settings.RANDOMIZATION["ARMS"])
        # An allocation list imported with other arm codes still exports.
        arms.update(
            {row["arm"]: row["arm"] for row in rows if row["arm"] not in (None, *arms)}
        )
        variables.append(Variable("arm", "Allocated arm", "choice", arms))
    cells = []
    for row in rows:
        cell = {
            "study_id": row["study_id"],
            "site": row["site__code"],
            "status": row["status"],
            "screening_date": row["screening_date"],
            "age": row["age_at_screening"],
            "sex": row["sex"],
            "fracture_status": row["fracture_status"] or None,
            "randomization_date": row["randomization_date"],
        }
        if show_arm:
            cell["arm"] = row["arm"]
        cells.append(cell)
    return Dataset(PARTICIPANTS, "Participants", variables, cells)


def _form_rows(
    spec: FormSpec,
    variables: list[Variable],
    scope: QuerySet,
    kept: set[int],
    cutoff: datetime.date | None,
    visit_codes: set[str] | None,
) -> list[dict]:
    """One row per stored form of the kept participants (one query)."""
    model = spec.model
    queryset = model.objects.filter(participant__in=scope)
    extra = []
    if spec.kind == PER_VISIT:
        extra.append("visit")
        if visit_codes is not None:
            queryset = queryset.filter(visit__in=visit_codes)
    if spec.kind == REPEATABLE:
        # Numbered among all the participant's forms of the kind, whatever the
        # filters, so a form keeps its number from one export to the next.
        queryset = queryset.annotate(
            export_form_number=Subquery(
                model.objects.filter(
                    participant_id=OuterRef("participant_id"), pk__lte=OuterRef("pk")
                )
                .values("participant_id")
                .annotate(count=Count("pk"))
                .values("count")
            )
        )
        extra.append("export_form_number")
    if cutoff is not None and spec.key not in UNDATED_FORMS:
        date_field = EVENT_DATE_FIELDS[spec.key]
        queryset = queryset.filter(
            Q(**{f"{date_field}__lte": cutoff})
            | Q(**{f"{date_field}__isnull": True}, completed_at__date__lte=cutoff)
        )
    names = [variable.name for variable in variables]
    visit_order = {visit.code: i for i, visit in enumerate(visit_definitions())}
    rows = []
    for row in queryset.values(
        "participant_id",
        "participant__study_id",
        "participant__site__code",
        "status",
        "missing_codes",
        *extra,
        *names,
    ):
        if row["participant_id"] not in kept:
            continue
        cells = {
            "study_id": row["participant__study_id"],
            "site": row["participant__site__code"],
        }
        if spec.kind == PER_VISIT:
            cells["visit"] = row["visit"]
        if spec.kind == REPEATABLE:
            cells["form_number"] = row["export_form_number"]
        cells["form_status"] = row["status"]
        rows.append({**cells, **data_cells(variables, row)})
    rows.sort(
        key=lambda cells: (
            cells["study_id"],
            visit_order.get(cells.get("visit"), len(visit_order)),
            cells.get("visit") or "",
            cells.get("form_number") or 0,
        )
    )
    return rows

"""How a data query is shown (issue 15): the form's and the field's labels,
never database names; a link to the field on its form; who has to act next;
its age. One function, used by the query list and the query page.

The link goes to the form's edit page with the field's anchor (``#div_id_``
plus the field name: the wrapper crispy forms renders around each field, and
the row of the read-only view), or ``#form-queries`` (the queries on the whole
form, at the top of the page). A query on a follow-up links to its visit's
form, entered or not (``DataQuery.visit``).
Times are shown in the participant's site zone by the templates
(``{% timezone %}``), with the zone named.
"""

from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist
from django.utils import timezone

from crf.forms.registry import PER_VISIT, form_url, spec_for_model
from crf.models import DataQuery
from crf.schedule.visits import visit_labels

WHOLE_FORM = "The whole form"


@dataclass(frozen=True)
class QueryFacts:
    form_label: str
    field_label: str
    url: str
    assigned_to: str
    age_days: int


def _field_label(model, field_name: str) -> str:
    if not field_name:
        return WHOLE_FORM
    try:
        label = str(model._meta.get_field(field_name).verbose_name)
    except FieldDoesNotExist:
        return field_name
    return label[:1].upper() + label[1:]


def _assigned_to(query: DataQuery) -> str:
    if query.status == DataQuery.Status.OPEN:
        return f"Site {query.participant.site.code}"
    if query.status == DataQuery.Status.ANSWERED:
        return "Data manager"
    return "Nobody (closed)"


def query_facts(query: DataQuery, now=None) -> QueryFacts:
    """The facts the pages print about ``query`` (its ``form`` and
    ``participant__site`` should be fetched with it)."""
    model = query.form_type.model_class()
    spec = spec_for_model(model)
    # A query on a per-visit form names its visit, entered or not.
    visit = query.visit or None
    if spec.kind == PER_VISIT and not visit:  # a row written without its visit
        visit = query.form.visit
    url = form_url(query.participant.study_id, spec, visit=visit, pk=query.form_id)
    url += f"#div_id_{query.field_name}" if query.field_name else "#form-queries"
    label = spec.label
    if visit:
        label = f"{label}: {visit_labels().get(visit, visit)}"
    now = now or timezone.now()
    return QueryFacts(
        form_label=label,
        field_label=_field_label(model, query.field_name),
        url=url,
        assigned_to=_assigned_to(query),
        age_days=(now - query.raised_at).days,
    )


def with_facts(queries) -> list[DataQuery]:
    """``queries`` (a page of them) each with ``.facts``."""
    items = list(queries)
    now = timezone.now()
    for query in items:
        query.facts = query_facts(query, now)
    return items

"""How a data query is shown (issue 15): the form's and the field's labels,
never database names; a link to the field on its form; who has to act next;
its age. One function, used by the query list and the query page.

The link goes to the form's edit page with the field's anchor (``#div_id_``
plus the field name: the wrapper crispy forms renders around each field).
Times are shown in the participant's site zone by the templates
(``{% timezone %}``), with the zone named.
"""

from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist
from django.db.models import prefetch_related_objects
from django.utils import timezone

from crf.forms.registry import form_url, spec_for_model
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
    form = query.form
    url = form_url(
        query.participant.study_id,
        spec,
        visit=getattr(form, "visit", None),
        pk=query.form_id,
    )
    if query.field_name:
        url += f"#div_id_{query.field_name}"
    label = spec.label
    if getattr(form, "visit", None):
        label = f"{label}: {visit_labels().get(form.visit, form.visit)}"
    now = now or timezone.now()
    return QueryFacts(
        form_label=label,
        field_label=_field_label(model, query.field_name),
        url=url,
        assigned_to=_assigned_to(query),
        age_days=(now - query.raised_at).days,
    )


def with_facts(queries) -> list[DataQuery]:
    """``queries`` (a page of them) each with ``.facts``: forms fetched in
    one query per form type."""
    items = list(queries)
    prefetch_related_objects(items, "form")
    now = timezone.now()
    for query in items:
        query.facts = query_facts(query, now)
    return items

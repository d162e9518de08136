"""Queries where the data is (issue 15): on a form's page, each queried field
carries a marker (its status) with the thread beside it, and the steps the
user may take there; the data manager raises a query from the field itself.

``form_query_markers`` gathers, in two SQL queries, the unresolved queries of
one form's page (``queries_on_form``: for a follow-up, every query on that
visit, the form entered or not) and what the user may do with them;
``layout_add_query_markers`` puts each field's marker right after the field in
the crispy layout, as a crispy ``HTML`` object that includes
``crf/includes/field_queries.html``; the read-only view shows the same marker
in the field's row. Queries on the whole form sit at the top of the page
(``#form-queries``).

The answer, close, re-open and raise controls are rendered inside the CRF's
own ``<form>`` (edit view), and HTML does not nest forms: each control's
textarea and button name its own ``<form>`` element through the ``form``
attribute, and those elements (CSRF token, hidden step) are printed once,
after the CRF form (``crf/includes/query_forms.html``). No JavaScript: a
``<details>`` holds each thread and each "Raise query" box. The controls post
to the query pages' own views and services (``crf.queries.views``), marked
``return_to=form``: back to the form at the field, with a message.
"""

from dataclasses import dataclass, field
from urllib.parse import urlencode

from crispy_forms.layout import HTML, Field, Layout
from django import forms
from django.urls import reverse

from crf.models import CrfForm, DataQuery
from crf.queries.services import queries_on_form, query_steps_for

RETURN_TO, RETURN_TO_FORM = "return_to", "form"
WHOLE_FORM_KEY = "form"  # marker id of the queries on the whole form

STEP_LABELS = {
    # action: (textarea label, button, button style, text required)
    "answer": ("Your answer", "Answer", "btn-primary", True),
    "close": ("Closing note (optional)", "Close query", "btn-outline-success", False),
    "reopen": ("Why it is re-opened", "Re-open", "btn-outline-danger", True),
}


def returns_to_form(request) -> bool:
    """Whether a query step was posted from a form's page (back there)."""
    return request.POST.get(RETURN_TO) == RETURN_TO_FORM


class InlineTextForm(forms.Form):
    """The text box of one control on the form's page, owned by the separate
    ``<form>`` element ``html_id`` (the query view validates what is posted)."""

    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *, html_id: str, label: str, required: bool = True):
        super().__init__(auto_id=f"id_{html_id}_%s")
        text = self.fields["text"]
        text.label, text.required = label, required
        text.widget.attrs["form"] = html_id


@dataclass
class HtmlForm:
    """One ``<form>`` element printed after the CRF form: where it posts and
    its hidden inputs."""

    html_id: str
    url: str
    hidden: dict[str, str]


@dataclass
class QueryStep:
    action: str
    button: str
    button_class: str
    html_id: str
    form: InlineTextForm


@dataclass
class QueryThread:
    query: DataQuery
    steps: list[QueryStep]
    # Shown unfolded when the next step is this user's.
    unfolded: bool

    @property
    def messages(self):
        return self.query.messages.all()


@dataclass
class FieldQueries:
    """What the page shows at one field (or, key ``form``, the whole form)."""

    key: str
    threads: list[QueryThread] = field(default_factory=list)
    raise_html_id: str = ""
    raise_form: InlineTextForm | None = None

    @property
    def marker_id(self) -> str:
        return f"query-marker-{self.key}"

    @property
    def status(self) -> str:
        """``open`` when one is waiting for the site, else ``answered``."""
        statuses = {thread.query.status for thread in self.threads}
        return (
            DataQuery.Status.OPEN
            if DataQuery.Status.OPEN in statuses
            else DataQuery.Status.ANSWERED
        )

    @property
    def badge(self) -> str:
        n = len(self.threads)
        word = "Query" if n == 1 else f"{n} queries"
        state = "open" if self.status == DataQuery.Status.OPEN else "answered"
        return f"{word} {state}"


@dataclass
class FormQueryMarkers:
    fields: dict[str, FieldQueries]
    whole_form: FieldQueries
    html_forms: list[HtmlForm]

    def __bool__(self) -> bool:
        return bool(self.fields or self.whole_form.threads or self.html_forms)


def raise_query_url(instance: CrfForm, field_name: str = "") -> str:
    """The page raising a data query on ``instance`` (no other page names the
    form type and id it needs), with ``field_name`` chosen when given."""
    meta = instance._meta
    params = {
        "form_type": f"{meta.app_label}.{meta.model_name}",
        "form_id": instance.pk,
    }
    if field_name:
        params["field"] = field_name
    return f"{reverse('queries:new')}?{urlencode(params)}"


def form_query_markers(
    *,
    user,
    participant,
    model: type[CrfForm],
    field_names: list[str],
    visit: str | None = None,
    instance: CrfForm | None = None,
) -> FormQueryMarkers:
    """The markers, threads and controls of one form's page for ``user``.

    Every unresolved query of the page (``queries_on_form``) goes to its
    field, or to the whole form when its field is "" or no longer on the page.
    A user with ``crf.raise_queries`` gets a "Raise query" box on every field
    and on the whole form of an entered form.
    """
    queries = queries_on_form(
        user,
        participant=participant,
        model=model,
        visit=visit,
        form_id=instance.pk if instance else None,
    )
    known = set(field_names)
    by_field: dict[str, FieldQueries] = {}
    whole_form = FieldQueries(WHOLE_FORM_KEY)
    html_forms: list[HtmlForm] = []
    for query in queries:
        steps = []
        for action in query_steps_for(user, query):
            label, button, button_class, required = STEP_LABELS[action]
            html_id = f"query-{query.pk}-{action}"
            steps.append(
                QueryStep(
                    action,
                    button,
                    button_class,
                    html_id,
                    InlineTextForm(html_id=html_id, label=label, required=required),
                )
            )
            html_forms.append(
                HtmlForm(
                    html_id,
                    reverse("queries:detail", args=[query.pk]),
                    {"action": action, RETURN_TO: RETURN_TO_FORM},
                )
            )
        actions = {step.action for step in steps}
        next_is_mine = (
            query.status == DataQuery.Status.OPEN and "answer" in actions
        ) or (query.status == DataQuery.Status.ANSWERED and "close" in actions)
        thread = QueryThread(query, steps, unfolded=next_is_mine)
        if query.field_name in known:
            marker = by_field.setdefault(
                query.field_name, FieldQueries(query.field_name)
            )
        else:
            marker = whole_form
        marker.threads.append(thread)
    if instance is not None and instance.pk and user.has_perm("crf.raise_queries"):
        url = raise_query_url(instance)
        for name in [WHOLE_FORM_KEY, *field_names]:
            marker = (
                whole_form
                if name == WHOLE_FORM_KEY
                else by_field.setdefault(name, FieldQueries(name))
            )
            marker.raise_html_id = f"raise-query-form-{name}"
            marker.raise_form = InlineTextForm(
                html_id=marker.raise_html_id, label="Question for the site"
            )
            field_name = "" if name == WHOLE_FORM_KEY else name
            html_forms.append(
                HtmlForm(
                    marker.raise_html_id,
                    url,
                    {"field_name": field_name, RETURN_TO: RETURN_TO_FORM},
                )
            )
    return FormQueryMarkers(by_field, whole_form, html_forms)


def layout_add_query_markers(layout: Layout, markers: FormQueryMarkers) -> None:
    """Insert each marked field's marker right after the field in ``layout``
    (after its ``Field`` wrapper when it has one), as a crispy ``HTML`` object
    reading ``query_markers`` from the page's context."""
    pointers = [
        pointer
        for pointer in layout.get_field_names()
        if pointer.name in markers.fields and pointer.name.isidentifier()
    ]
    # Last first, so that an insertion never moves a position still to use.
    for pointer in sorted(pointers, key=lambda p: p.positions, reverse=True):
        positions = list(pointer.positions)
        chain = [layout]
        for index in positions[:-1]:
            chain.append(chain[-1].fields[index])
        # Step out of Field wrappers (they pass their attributes to what they
        # hold): the marker goes next to the wrapper.
        while len(chain) > 1 and isinstance(chain[-1], Field):
            chain.pop()
            positions.pop()
        container = chain[-1]
        container.fields.insert(
            positions[len(chain) - 1] + 1,
            HTML(
                '{% include "crf/includes/field_queries.html" with '
                f"marker=query_markers.fields.{pointer.name} %}}"
            ),
        )

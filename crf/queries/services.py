"""Data queries (PROTOCOL §7, data management): services and selectors.

Life of a query::

    raised (data manager or automatic check) → open
    open      --answer (site staff)-->          answered
    open/answered --close (data manager)-->     closed
    closed/answered --reopen (data manager)-->  open

Every step writes a ``QueryMessage`` (action, text, by, at) and runs inside
``audit_context`` so the pghistory events name the user and the reason.
Queries are reached only through ``participants_for(user)``: a query at another
site does not exist for the user (404), a missing permission is refused (403).
"""

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from crf.forms.registry import FORMS, spec_for_model
from crf.models import CrfForm, DataQuery, QueryMessage
from perform.exceptions import TrialError
from perform.models import User
from perform.selectors import participants_for
from perform.services import audit_context

Status = DataQuery.Status
Action = QueryMessage.Action
UNRESOLVED = (Status.OPEN, Status.ANSWERED)


class QueryRefused(TrialError):
    """A query step the workflow does not allow (wrong state, bad input)."""

    code = "query_refused"


# -----------------------------------------------------------------------------
# Services
# -----------------------------------------------------------------------------


def _require(actor: User, perm: str, message: str) -> None:
    if not (actor.is_active and actor.has_perm(perm)):
        raise PermissionDenied(message)


def _text_required(text: str, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise QueryRefused(f"Write {what}.", field="text")
    return text


def query_field_choices(form: CrfForm) -> list[tuple[str, str]]:
    """The fields a query may name on ``form``: "" (whole form) and the form's
    fields as shown on its page, with their labels."""
    spec = spec_for_model(type(form))
    choices = [("", "The whole form")]
    for name in spec.fields:
        label = str(form._meta.get_field(name).verbose_name)
        choices.append((name, label[:1].upper() + label[1:]))
    return choices


def _scoped_lock(actor: User, query: DataQuery) -> DataQuery:
    """The query row, locked; DoesNotExist when outside the actor's sites."""
    return (
        DataQuery.objects.select_for_update(of=("self",))
        .filter(participant__in=participants_for(actor))
        .get(pk=query.pk)
    )


def _same_anchor_q(query: DataQuery) -> Q:
    """Queries on the same form as ``query``: the same entered form, or for a
    query on a visit's form not entered yet, the same participant and visit."""
    if query.form_id is None:
        return Q(
            participant_id=query.participant_id,
            form_type_id=query.form_type_id,
            visit=query.visit,
            form_id__isnull=True,
        )
    return Q(form_type_id=query.form_type_id, form_id=query.form_id)


def _message_add(query: DataQuery, action: str, text: str, by: User | None) -> None:
    QueryMessage.objects.create(query=query, action=action, text=text, by=by)


@transaction.atomic
def query_raise(
    *, actor: User, form: CrfForm, field_name: str = "", text: str
) -> DataQuery:
    """Raise a query on one field of ``form`` (or the whole form, field "")."""
    _require(actor, "crf.raise_queries", "Only the data manager raises queries.")
    if not participants_for(actor).filter(pk=form.participant_id).exists():
        raise PermissionDenied("This participant is not at one of your sites.")
    field_name = (field_name or "").strip()
    if field_name not in dict(query_field_choices(form)):
        raise QueryRefused(
            f"The {form._meta.verbose_name} form has no field “{field_name}”.",
            field="field_name",
        )
    text = _text_required(text, "the question for the site")
    with audit_context(actor=actor, reason="Query raised"):
        query = DataQuery.objects.create(
            participant_id=form.participant_id,
            form_type=ContentType.objects.get_for_model(form),
            form_id=form.pk,
            visit=getattr(form, "visit", ""),
            field_name=field_name,
            text=text,
            raised_by=actor,
        )
        _message_add(query, Action.RAISED, text, actor)
    return query


@transaction.atomic
def query_answer(*, actor: User, query: DataQuery, text: str) -> DataQuery:
    """The site answers an open query: it becomes *answered*."""
    _require(actor, "crf.enter_forms", "Only site staff answer queries.")
    current = _scoped_lock(actor, query)
    if current.status != Status.OPEN:
        raise QueryRefused(
            f"This query is {current.get_status_display().lower()}; only an open "
            "query can be answered."
        )
    text = _text_required(text, "your answer")
    with audit_context(actor=actor, reason="Query answered"):
        current.status = Status.ANSWERED
        current.save(update_fields=["status"])
        _message_add(current, Action.ANSWERED, text, actor)
    return current


@transaction.atomic
def query_close(*, actor: User, query: DataQuery, text: str = "") -> DataQuery:
    """The data manager closes an open or answered query."""
    _require(actor, "crf.raise_queries", "Only the data manager closes queries.")
    current = _scoped_lock(actor, query)
    if current.status == Status.CLOSED:
        raise QueryRefused("This query is already closed.")
    text = (text or "").strip() or "Closed."
    with audit_context(actor=actor, reason="Query closed"):
        current.status = Status.CLOSED
        current.closed_at = timezone.now()
        current.save(update_fields=["status", "closed_at"])
        _message_add(current, Action.CLOSED, text, actor)
    return current


@transaction.atomic
def query_reopen(*, actor: User, query: DataQuery, text: str) -> DataQuery:
    """The data manager re-opens a closed or answered query for the site."""
    _require(actor, "crf.raise_queries", "Only the data manager re-opens queries.")
    current = _scoped_lock(actor, query)
    if current.status == Status.OPEN:
        raise QueryRefused("This query is already open.")
    text = _text_required(text, "why the query is re-opened")
    if (
        current.check_code
        and DataQuery.objects.filter(
            _same_anchor_q(current),
            check_code=current.check_code,
            status__in=UNRESOLVED,
        )
        .exclude(pk=current.pk)
        .exists()
    ):
        raise QueryRefused(
            "The automatic check has raised this question again in a newer query; "
            "continue there."
        )
    with audit_context(actor=actor, reason="Query re-opened"):
        current.status = Status.OPEN
        current.closed_at = None
        current.save(update_fields=["status", "closed_at"])
        _message_add(current, Action.REOPENED, text, actor)
    return current


# -----------------------------------------------------------------------------
# Selectors
# -----------------------------------------------------------------------------

# The steps of the thread: who may take each (permission) and from which
# states. The query page and the form page offer the steps ``query_steps_for``
# names; the services above refuse the others.
STEP_RULES = {
    "answer": ("crf.enter_forms", {Status.OPEN}),
    "close": ("crf.raise_queries", {Status.OPEN, Status.ANSWERED}),
    "reopen": ("crf.raise_queries", {Status.ANSWERED, Status.CLOSED}),
}


def query_steps_for(user, query: DataQuery) -> list[str]:
    """The steps (answer, close, reopen) ``user`` may take on ``query`` now."""
    return [
        action
        for action, (perm, states) in STEP_RULES.items()
        if user.has_perm(perm) and query.status in states
    ]


def queries_for(user) -> QuerySet[DataQuery]:
    """Every query ``user`` may see (their sites; all sites for the Methods
    Centre), with participant, site and form type loaded."""
    return DataQuery.objects.filter(
        participant__in=participants_for(user)
    ).select_related("participant__site", "form_type", "raised_by")


def open_queries_for(user, *, participant=None, form: CrfForm | None = None):
    """Unresolved queries (open or answered) in ``user``'s scope, optionally of
    one participant or one form. Newest first."""
    qs = queries_for(user).filter(status__in=UNRESOLVED)
    if participant is not None:
        qs = qs.filter(participant=participant)
    if form is not None:
        qs = qs.filter(
            form_type=ContentType.objects.get_for_model(form), form_id=form.pk
        )
    return qs


def queries_on_form(
    user, *, participant, model: type[CrfForm], visit: str | None, form_id
) -> QuerySet[DataQuery]:
    """The unresolved queries shown on one form's page, in ``user``'s scope,
    oldest first, with their threads: for a per-visit form, every query on
    that visit (entered or not: an overdue visit's query has no form yet);
    for another form, the queries on the entered form (none before it is)."""
    qs = queries_for(user).filter(
        participant=participant,
        form_type=ContentType.objects.get_for_model(model),
        status__in=UNRESOLVED,
    )
    if visit:
        qs = qs.filter(visit=visit)
    elif form_id is None:
        return qs.none()
    else:
        qs = qs.filter(form_id=form_id)
    return qs.prefetch_related("messages__by").order_by("raised_at", "id")


def open_query_counts(user, *, participant_ids=None) -> dict[int, dict[str, int]]:
    """Participant id → {"open": n, "answered": n} of unresolved queries, in one
    query. Participants without unresolved queries are absent."""
    qs = DataQuery.objects.filter(
        participant__in=participants_for(user), status__in=UNRESOLVED
    )
    if participant_ids is not None:
        qs = qs.filter(participant_id__in=participant_ids)
    rows = (
        qs.order_by()
        .values("participant_id")
        .annotate(
            open=Count("id", filter=Q(status=Status.OPEN)),
            answered=Count("id", filter=Q(status=Status.ANSWERED)),
        )
    )
    return {
        row["participant_id"]: {"open": row["open"], "answered": row["answered"]}
        for row in rows
    }


def query_list(
    *, user, site_code: str | None = None, status: str | None = None
) -> QuerySet[DataQuery]:
    """The query list page: filtered by site and status; newest first."""
    qs = queries_for(user)
    if site_code:
        qs = qs.filter(participant__site__code=site_code.upper())
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-raised_at", "-id")


def query_get(*, user, pk: int) -> DataQuery:
    """One query in ``user``'s scope with its thread, or 404."""
    qs = queries_for(user).prefetch_related("messages__by")
    return get_object_or_404(qs, pk=pk)


def query_form_get(*, user, form_type: str, form_id) -> CrfForm:
    """The form named ``app_label.model`` + id, in ``user``'s scope, or 404."""
    app_label, _, model_name = (form_type or "").partition(".")
    model = next(
        (
            spec.model
            for spec in FORMS.values()
            if spec.model._meta.app_label == app_label
            and spec.model._meta.model_name == model_name
        ),
        None,
    )
    if model is None or not str(form_id or "").isdigit():
        raise Http404("No such form.")
    return get_object_or_404(
        model.objects.filter(participant__in=participants_for(user)).select_related(
            "participant__site"
        ),
        pk=int(form_id),
    )

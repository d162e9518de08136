"""``/api/v1/participants/<study_id>/forms/``: the CRFs (the schedule:
``crf.schedule.api``).

Reads list every form of a participant and the visit schedule; writes create
or change one form with the validation of the web forms (``crf.forms.forms``): the
model fields' ranges and choices, then the fields a complete form needs; then
``crf.forms.services.form_save``, the one writer, which owns the rules between
fields and forms (``crf.forms.rules.form_rule_errors``, answered here in the
shape below), versions, reasons for change, locks and the audit trail.

Error bodies of a write (400; nothing is saved):

* problems with a form field: ``{"fields": {name: [message, ...]}}`` (unknown
  names included, with "Unknown field."; a missing-data code on a field that
  may not be coded, or beside a value; a value for a field its branching
  condition hides, ``crf.forms.branching``);
* a missing-data code for an unknown field: ``{"missing_codes": {name: [...]}}``;
* problems with the request around it: ``{"reason": [...]}``,
  ``{"visit": [...]}``, ``{"complete": [...]}``, ``{"based_on_version": [...]}``;
* rules not tied to one field of this form: ``{"non_field_errors": [...]}``.

409 ``{"detail", "code"}``: ``form_not_allowed`` (the participant's lifecycle
status does not allow the form, ``crf.forms.rules.form_allowed_for``: clinical forms
only after randomization), ``form_locked``, ``stale_form`` (someone saved a
newer version; send ``based_on_version`` to be protected) or ``form_exists``
(a one-per-participant or one-per-visit form already exists: ``PUT`` it).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from crf.epro.windows import baseline_visit
from crf.exceptions import FormLocked, FormNotAllowed, StaleForm
from crf.forms.missing_data import field_answered
from crf.forms.registry import FORMS, PER_VISIT, REPEATABLE, FormSpec
from crf.forms.rules import form_allowed_for, form_not_allowed_message
from crf.forms.serializers import (
    CONFLICT_RESPONSE,
    FORM_VALIDATION_RESPONSE,
    FormInputSerializer,
    FormOutputSerializer,
    fields_serializer_class,
    form_data,
)
from crf.forms.services import form_save
from crf.models import Baseline, FollowUp, PromResponse
from crf.schedule.visits import visit_definitions
from infrastructure.api.common import (
    FORBIDDEN_RESPONSE,
    NON_FIELD_ERRORS,
    NOT_FOUND_RESPONSE,
    UNAUTHENTICATED_RESPONSE,
    ApiErrorSerializer,
    HasRequiredPermission,
    JsonApiMixin,
)
from perform.selectors import participant_get

REQUIRED_WHEN_COMPLETE = "Required for a complete form."
UNKNOWN_FIELD = "Unknown field."
LOCKED = "This form is locked by the Methods Centre."


# -----------------------------------------------------------------------------
# Views
# -----------------------------------------------------------------------------
def _spec(key: str) -> FormSpec:
    spec = FORMS.get(key)
    if spec is None:
        raise Http404
    return spec


def _conflict(message: str, code: str) -> Response:
    return Response({"detail": message, "code": code}, status=status.HTTP_409_CONFLICT)


def _rule_errors(spec: FormSpec, refusal: DjangoValidationError) -> dict:
    """The service's refusal (``crf.forms.rules``: field → messages) as a 400
    body: ``{"fields": {...}}`` for this form's fields, the rest as
    ``{"non_field_errors": [...]}``."""
    field_errors: dict[str, list[str]] = {}
    other_errors: list[str] = []
    named = refusal.message_dict if hasattr(refusal, "error_dict") else {}
    for name, messages in named.items():
        if name in spec.fields:
            field_errors.setdefault(name, []).extend(messages)
        else:
            other_errors.extend(messages)
    if not named:
        other_errors.extend(refusal.messages)
    errors: dict = {}
    if field_errors:
        errors["fields"] = field_errors
    if other_errors:
        errors[NON_FIELD_ERRORS] = other_errors
    return errors


def _prom_visit(form) -> str | None:
    """The visit whose questionnaire response ``form`` holds, if any."""
    if isinstance(form, FollowUp):
        return form.visit
    if isinstance(form, Baseline):
        return baseline_visit()
    return None


def _prom_responses(participant) -> dict[str, PromResponse]:
    """Visit → the participant's questionnaire response: one query."""
    return {r.visit: r for r in PromResponse.objects.filter(participant=participant)}


def _not_allowed(spec: FormSpec, participant) -> Response | None:
    """409 when the participant's lifecycle status does not allow the form."""
    if form_allowed_for(spec, participant):
        return None
    return _conflict(form_not_allowed_message(spec, participant), FormNotAllowed.code)


class CrfApiView(JsonApiMixin, APIView):
    permission_classes = [IsAuthenticated, HasRequiredPermission]
    required_permissions = {
        "GET": ("crf.view_forms", "You may not see case report forms."),
        "POST": ("crf.enter_forms", "You may not enter case report forms."),
        "PUT": ("crf.enter_forms", "You may not enter case report forms."),
    }

    @staticmethod
    def _body(request) -> dict:
        body = FormInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return body.validated_data

    def _write(self, request, *, data: dict, participant, spec: FormSpec, form):
        """Validate ``data["fields"]`` onto ``form`` (new, or the current row;
        unsaved) and save it, or answer the error. Nothing is written before
        every check has passed."""
        complete = data["complete"]
        unknown = sorted(set(data["fields"]) - set(spec.fields))
        if unknown:
            raise ValidationError({"fields": dict.fromkeys(unknown, [UNKNOWN_FIELD])})
        values = fields_serializer_class(spec)(
            instance=form if form.pk else None, data=data["fields"], partial=True
        )
        if not values.is_valid():
            raise ValidationError({"fields": values.errors})
        for name, value in values.validated_data.items():
            setattr(form, name, value)
        if "missing_codes" in data:
            # Which fields may be coded, and not beside a value: the service.
            unknown = sorted(set(data["missing_codes"]) - set(spec.fields))
            if unknown:
                raise ValidationError(
                    {"missing_codes": dict.fromkeys(unknown, [UNKNOWN_FIELD])}
                )
            form.missing_codes = dict(data["missing_codes"])
        if complete:
            missing = {
                name: [REQUIRED_WHEN_COMPLETE]
                for name in form.required_when_complete
                if name in spec.fields and not field_answered(form, name)
            }
            if missing:
                raise ValidationError({"fields": missing})
        created = form.pk is None
        try:
            form = form_save(
                actor=request.user,
                form=form,
                complete=complete,
                reason=data["reason"],
                based_on_version=data.get("based_on_version"),
            )
        except DjangoValidationError as refusal:
            # PROTOCOL §7's rules, checked by the service alone.
            raise ValidationError(_rule_errors(spec, refusal)) from refusal
        # Changed since the checks above.
        except (FormLocked, FormNotAllowed, StaleForm) as error:
            return _conflict(error.message, error.code)
        except IntegrityError:
            # Another request created the same one-only form a moment ago.
            return _conflict(
                f"This participant already has a {spec.label.lower()} form.",
                "form_exists",
            )
        form = spec.model.objects.select_related("updated_by").get(pk=form.pk)
        return Response(
            form_data(
                spec,
                form,
                prom_response=_prom_responses(participant).get(_prom_visit(form)),
            ),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ParticipantFormListApi(CrfApiView):
    """Every CRF of one participant in the caller's scope."""

    @extend_schema(
        operation_id="participants_forms_list",
        responses={
            200: FormOutputSerializer(many=True),
            401: UNAUTHENTICATED_RESPONSE,
            403: FORBIDDEN_RESPONSE,
            404: NOT_FOUND_RESPONSE,
        },
    )
    def get(self, request, study_id):
        """Every form instance, in registry order (follow-ups by visit, repeatable
        forms oldest first). Needs `crf.view_forms`."""
        participant = participant_get(user=request.user, study_id=study_id)
        visit_order = {v.code: n for n, v in enumerate(visit_definitions())}
        data = []
        responses = _prom_responses(participant)
        for spec in FORMS.values():
            forms = list(
                spec.model.objects.filter(participant=participant)
                .select_related("updated_by")
                .order_by("pk")
            )
            if spec.model is FollowUp:
                forms.sort(key=lambda f: visit_order.get(f.visit, len(visit_order)))
            data.extend(
                form_data(spec, form, prom_response=responses.get(_prom_visit(form)))
                for form in forms
            )
        return Response(data)


class ParticipantFormCreateApi(CrfApiView):
    """Create one form of a participant in the caller's scope."""

    @extend_schema(
        operation_id="participants_forms_create",
        request=FormInputSerializer,
        responses={
            201: FormOutputSerializer,
            400: FORM_VALIDATION_RESPONSE,
            401: UNAUTHENTICATED_RESPONSE,
            403: FORBIDDEN_RESPONSE,
            404: OpenApiResponse(
                ApiErrorSerializer,
                description="No such participant in the caller's scope, or no "
                "such form key.",
            ),
            409: CONFLICT_RESPONSE,
        },
    )
    def post(self, request, study_id, key):
        """Create a form: repeatable forms any time; a one-per-participant form
        while there is none; a follow-up (`visit` required) while that visit
        has none. Clinical forms only once the participant is randomized (a
        protocol deviation from consent, the baseline any time): otherwise 409
        `form_not_allowed`. Needs `crf.enter_forms`."""
        participant = participant_get(user=request.user, study_id=study_id)
        spec = _spec(key)
        data = self._body(request)
        refused = _not_allowed(spec, participant)
        if refused:
            return refused
        form = spec.model(participant=participant)
        existing = spec.model.objects.filter(participant=participant)
        if spec.kind == PER_VISIT:
            if not data.get("visit"):
                raise ValidationError({"visit": ["Name the follow-up visit."]})
            form.visit = data["visit"]
            existing = existing.filter(visit=form.visit)
        elif "visit" in data:
            raise ValidationError({"visit": ["Only follow-up forms have a visit."]})
        if spec.kind != REPEATABLE and existing.exists():
            return _conflict(
                f"This participant already has this {spec.label.lower()} form: "
                "change it with PUT.",
                "form_exists",
            )
        return self._write(
            request, data=data, participant=participant, spec=spec, form=form
        )


class ParticipantFormDetailApi(CrfApiView):
    """Change one form of a participant in the caller's scope."""

    @extend_schema(
        operation_id="participants_forms_update",
        request=FormInputSerializer,
        responses={
            200: FormOutputSerializer,
            400: FORM_VALIDATION_RESPONSE,
            401: UNAUTHENTICATED_RESPONSE,
            403: FORBIDDEN_RESPONSE,
            404: OpenApiResponse(
                ApiErrorSerializer,
                description="No such participant in the caller's scope, or no "
                "such form of this participant.",
            ),
            409: CONFLICT_RESPONSE,
        },
    )
    def put(self, request, study_id, key, pk):
        """Change a form (fields not named keep their value). A form that was
        ever complete needs `reason`; a locked form, or a form the
        participant's status does not allow (entered before that rule), answers
        409. Needs `crf.enter_forms`."""
        participant = participant_get(user=request.user, study_id=study_id)
        spec = _spec(key)
        form = spec.model.objects.filter(participant=participant, pk=pk).first()
        if form is None:
            raise Http404
        data = self._body(request)
        # No point validating a change that cannot be saved; the service checks
        # these again (lock and version under a row lock).
        refused = _not_allowed(spec, participant)
        if refused:
            return refused
        if form.locked:
            return _conflict(LOCKED, FormLocked.code)
        based_on = data.get("based_on_version")
        if based_on is not None and based_on != form.version:
            error = StaleForm()
            return _conflict(error.message, error.code)
        if "visit" in data:
            raise ValidationError({"visit": ["The visit of a form cannot change."]})
        return self._write(
            request, data=data, participant=participant, spec=spec, form=form
        )

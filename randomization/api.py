"""``POST /api/v1/participants/<study_id>/randomize/``: randomize through the API.

A thin view over ``services.participant_randomize`` (the same action as the
web page). The answer is built from ``selectors.allocation_shown_to``, the one
place that decides what of an allocation may be shown, so no response carries
anything of the list beyond the allocation itself; ``sequence`` (the number
within the stratum) is present for statisticians only and absent, not null,
for everyone else.

Status codes: 201 a new allocation, 200 the participant was already
randomized (same body, nothing allocated), 401 no credentials, 403 the role may
not randomize, 404 no such participant in the caller's scope, 409 randomization
closed or the stratum used up, 422 the participant may not be randomized yet
(with the reasons).
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from infrastructure.api.common import (
    FORBIDDEN_RESPONSE,
    NOT_FOUND_RESPONSE,
    UNAUTHENTICATED_RESPONSE,
    JsonApiMixin,
)
from perform.selectors import participant_get
from randomization import selectors, services
from randomization.exceptions import (
    NotRandomizable,
    RandomizationClosed,
    RandomizationError,
    StratumExhausted,
)


# -----------------------------------------------------------------------------
# Serializers
# -----------------------------------------------------------------------------
class AllocationOutputSerializer(serializers.Serializer):
    """A participant's allocation, once made."""

    study_id = serializers.CharField()
    arm = serializers.CharField(help_text="Arm code, e.g. IF.")
    stratum = serializers.CharField(help_text="Stratum key, e.g. TOR|impending.")
    sequence = serializers.IntegerField(
        required=False,
        help_text="Order of this allocation within its stratum (1, 2, ...). "
        "Statisticians only (permission `randomization.manage_lists`): the "
        "field is absent for every other role, because with permuted blocks it "
        "helps guess the next arm.",
    )
    randomized_at = serializers.DateTimeField()
    randomized_by = serializers.CharField(help_text="Username of the randomizer.")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if data.get("sequence") is None:
            data.pop("sequence", None)
        return data


class NotRandomizableErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(help_text="`not_randomizable`.")
    reasons = serializers.ListField(
        child=serializers.CharField(),
        help_text="Each reason the participant cannot be randomized yet.",
    )


class RandomizationConflictErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(
        help_text="`randomization_closed` (no active list, or no stratum for "
        "this participant) or `stratum_exhausted`."
    )
    stratum = serializers.CharField(
        allow_null=True,
        help_text="The participant's stratum key; null when no list is active.",
    )


def allocation_data(user, participant) -> dict | None:
    """The allocation of ``participant`` as ``user`` may see it, or ``None``."""
    shown = selectors.allocation_shown_to(user, participant)
    return AllocationOutputSerializer(shown).data if shown else None


# -----------------------------------------------------------------------------
# Views
# -----------------------------------------------------------------------------
class MayRandomize(BasePermission):
    """POST needs ``randomize_participant``, and ``view_allocation`` too: the
    answer to a randomize request is the arm."""

    message = "You may not randomize participants."

    def has_permission(self, request, view):
        return request.method != "POST" or request.user.has_perms(
            [
                "randomization.randomize_participant",
                "randomization.view_allocation",
            ]
        )


def _error(error: RandomizationError, code: int, **extra) -> Response:
    return Response({"detail": str(error), "code": error.code, **extra}, status=code)


class ParticipantRandomizeApi(JsonApiMixin, APIView):
    """Randomize one participant in the caller's scope (no request body)."""

    permission_classes = [IsAuthenticated, MayRandomize]

    @extend_schema(
        operation_id="participants_randomize",
        request=None,
        responses={
            200: OpenApiResponse(
                AllocationOutputSerializer,
                description="Already randomized: the existing allocation; "
                "nothing new was allocated.",
            ),
            201: OpenApiResponse(
                AllocationOutputSerializer, description="Randomized just now."
            ),
            401: UNAUTHENTICATED_RESPONSE,
            403: FORBIDDEN_RESPONSE,
            404: NOT_FOUND_RESPONSE,
            409: OpenApiResponse(
                RandomizationConflictErrorSerializer,
                description="Randomization is closed for this participant, or "
                "the stratum's list is used up (the statisticians are alerted). "
                "Nothing was allocated.",
            ),
            422: OpenApiResponse(
                NotRandomizableErrorSerializer,
                description="Not consented, not eligible or stratification data "
                "missing. Nothing was allocated.",
            ),
        },
    )
    def post(self, request, study_id):
        """Allocate the next arm of the participant's stratum. Repeating the
        request is safe: it answers 200 with the same allocation."""
        participant = participant_get(user=request.user, study_id=study_id)
        try:
            result = services.participant_randomize(
                actor=request.user, participant=participant
            )
        except NotRandomizable as error:
            return _error(
                error,
                status.HTTP_422_UNPROCESSABLE_ENTITY,
                reasons=list(error.reasons),
            )
        except RandomizationClosed as error:
            return _error(
                error, status.HTTP_409_CONFLICT, stratum=error.stratum or None
            )
        except StratumExhausted as error:
            return _error(error, status.HTTP_409_CONFLICT, stratum=error.stratum)
        return Response(
            allocation_data(request.user, participant),
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )

"""``/api/v1/participants/<study_id>/schedule/``: a participant's visits."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from crf.forms.api import CrfApiView
from crf.forms.selectors import participant_schedule
from infrastructure.api.common import (
    FORBIDDEN_RESPONSE,
    NOT_FOUND_RESPONSE,
    UNAUTHENTICATED_RESPONSE,
)
from perform.selectors import participant_get


class VisitOutputSerializer(serializers.Serializer):
    visit = serializers.CharField(source="visit.code", help_text="Visit code.")
    label = serializers.CharField(source="visit.label")
    target_date = serializers.DateField()
    window_start = serializers.DateField()
    window_end = serializers.DateField()
    state = serializers.CharField(
        help_text="upcoming, due, overdue, done, missed or not_expected."
    )
    done_on = serializers.DateField(allow_null=True)
    missed_reason = serializers.CharField(allow_blank=True)
    forms_expected = serializers.ListField(child=serializers.CharField())


class ParticipantScheduleApi(CrfApiView):
    """The visit schedule of one participant in the caller's scope."""

    @extend_schema(
        operation_id="participants_schedule_list",
        responses={
            200: VisitOutputSerializer(many=True),
            401: UNAUTHENTICATED_RESPONSE,
            403: FORBIDDEN_RESPONSE,
            404: NOT_FOUND_RESPONSE,
        },
    )
    def get(self, request, study_id):
        """The follow-up visits of PROTOCOL §6 with windows and states (empty
        until the surgery date is recorded). Needs `crf.view_forms`."""
        participant = participant_get(user=request.user, study_id=study_id)
        return Response(
            VisitOutputSerializer(participant_schedule(participant), many=True).data
        )

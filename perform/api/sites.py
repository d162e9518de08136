"""``GET /api/v1/sites/``: the sites in the caller's scope."""

from drf_spectacular.utils import (
    extend_schema,
)
from rest_framework import generics, serializers
from rest_framework.response import Response

from infrastructure.api.common import (
    UNAUTHENTICATED_RESPONSE,
    JsonApiMixin,
)
from perform import selectors
from perform.models import Site


# -----------------------------------------------------------------------------
# Sites
# -----------------------------------------------------------------------------
class SiteOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = [
            "code",
            "name",
            "country",
            "time_zone",
            "activation_date",
            "target_enrolment",
            "is_active",
        ]


class SiteListApi(JsonApiMixin, generics.GenericAPIView):
    """Sites whose participants the caller may see (``selectors.sites_for``).

    Any authenticated user may call it; a user without participant access (a
    DSMB member) gets an empty list rather than 403, which reveals nothing.
    Not paginated: a trial has a handful of sites.
    """

    pagination_class = None

    @extend_schema(
        operation_id="sites_list",
        responses={200: SiteOutputSerializer(many=True), 401: UNAUTHENTICATED_RESPONSE},
    )
    def get(self, request):
        sites = selectors.sites_for(request.user)
        return Response(SiteOutputSerializer(sites, many=True).data)

"""URLs of the JSON API, mounted at /api/v1/ (names in the ``api`` namespace)."""

from django.urls import path, re_path

from perform import api

app_name = "api"

urlpatterns = [
    path("auth/token/", api.TokenObtainApi.as_view(), name="token_obtain"),
    path("sites/", api.SiteListApi.as_view(), name="site_list"),
    path("participants/", api.ParticipantListApi.as_view(), name="participant_list"),
    path(
        "participants/<str:study_id>/",
        api.ParticipantDetailApi.as_view(),
        name="participant_detail",
    ),
    path("schema/", api.SchemaApi.as_view(), name="schema"),
    # Last: any other URL ending in "/" is a JSON 404. Paths without the slash
    # are left alone so CommonMiddleware can still redirect "sites" → "sites/".
    re_path(r"^(?:.*/)?$", api.NotFoundApi.as_view(), name="not_found"),
]

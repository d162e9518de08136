"""URLs of the JSON API, mounted at /api/v1/ (names in the ``api`` namespace)."""

from django.urls import path, re_path

from crf.forms.api import (
    ParticipantFormCreateApi,
    ParticipantFormDetailApi,
    ParticipantFormListApi,
)
from crf.schedule.api import ParticipantScheduleApi
from infrastructure.api.schema import NotFoundApi, SchemaApi
from perform.api.auth import TokenLogoutAllApi, TokenLogoutApi, TokenObtainApi
from perform.api.participants import ParticipantDetailApi, ParticipantListApi
from perform.api.sites import SiteListApi
from randomization.api import ParticipantRandomizeApi

app_name = "api"

urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="token_obtain"),
    path("auth/logout/", TokenLogoutApi.as_view(), name="logout"),
    path("auth/logout-all/", TokenLogoutAllApi.as_view(), name="logout_all"),
    path("sites/", SiteListApi.as_view(), name="site_list"),
    path("participants/", ParticipantListApi.as_view(), name="participant_list"),
    path(
        "participants/<str:study_id>/",
        ParticipantDetailApi.as_view(),
        name="participant_detail",
    ),
    path(
        "participants/<str:study_id>/randomize/",
        ParticipantRandomizeApi.as_view(),
        name="participant_randomize",
    ),
    path(
        "participants/<str:study_id>/forms/",
        ParticipantFormListApi.as_view(),
        name="participant_forms",
    ),
    path(
        "participants/<str:study_id>/forms/<str:key>/",
        ParticipantFormCreateApi.as_view(),
        name="participant_form_create",
    ),
    path(
        "participants/<str:study_id>/forms/<str:key>/<int:pk>/",
        ParticipantFormDetailApi.as_view(),
        name="participant_form_detail",
    ),
    path(
        "participants/<str:study_id>/schedule/",
        ParticipantScheduleApi.as_view(),
        name="participant_schedule",
    ),
    path("schema/", SchemaApi.as_view(), name="schema"),
    # Last: any other URL ending in "/" is a JSON 404. Paths without the slash
    # are left alone so CommonMiddleware can still redirect "sites" → "sites/".
    re_path(r"^(?:.*/)?$", NotFoundApi.as_view(), name="not_found"),
]

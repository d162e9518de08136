"""URLs of patient-reported outcomes (namespace ``epro``): the participant's
survey by personal link (no login), the clinic tablet, contact preferences."""

from django.urls import path

from crf.epro import contact_views, views

app_name = "epro"

urlpatterns = [
    path("survey/<str:token>/", views.survey, name="survey"),
    path(
        "participants/<str:study_id>/contact/",
        contact_views.participant_contact,
        name="participant_contact",
    ),
]

"""URLs of patient-reported outcomes (namespace ``epro``): the participant's
survey by personal link (no login) and the clinic tablet (the coordinator's
session, locked; ``crf.epro.middleware``)."""

from django.urls import path

from crf.epro import contact_views, tablet, views

app_name = "epro"

urlpatterns = [
    path("survey/<str:token>/", views.survey, name="survey"),
    path("survey/<str:token>/autosave/", views.survey_autosave, name="survey_autosave"),
    path("survey/<str:token>/language/", views.survey_language, name="survey_language"),
    path("survey/<str:token>/stop/", views.survey_stop, name="survey_stop"),
    path(
        "participants/<str:study_id>/tablet/",
        tablet.tablet_start,
        name="tablet_start",
    ),
    path("tablet/", tablet.tablet_survey, name="tablet"),
    path("tablet/autosave/", tablet.tablet_autosave, name="tablet_autosave"),
    path("tablet/language/", tablet.tablet_language, name="tablet_language"),
    path("tablet/exit/", tablet.tablet_exit, name="tablet_exit"),
    path(
        "participants/<str:study_id>/contact/",
        contact_views.participant_contact,
        name="participant_contact",
    ),
]

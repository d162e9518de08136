"""Randomization pages, mounted at ``/randomization/`` (namespace
``randomization``)."""

from django.urls import path

from randomization import views

app_name = "randomization"

urlpatterns = [
    path(
        "participants/<str:study_id>/randomize/",
        views.participant_randomize,
        name="randomize",
    ),
    path(
        "participants/<str:study_id>/allocation/",
        views.participant_allocation,
        name="allocation",
    ),
    path(
        "participants/<str:study_id>/allocation.pdf",
        views.participant_allocation_pdf,
        name="allocation_pdf",
    ),
    path("log/", views.randomization_log, name="log"),
    path("balance/", views.stratum_balance, name="balance"),
    path("lists/", views.list_index, name="list_index"),
    path("lists/generate/", views.list_generate, name="list_generate"),
    path("lists/import/", views.list_import, name="list_import"),
    path("lists/<int:list_id>/", views.list_detail, name="list_detail"),
    path("lists/<int:list_id>/verify/", views.list_verify, name="list_verify"),
    path("lists/<int:list_id>/activate/", views.list_activate, name="list_activate"),
    path("lists/<int:list_id>/extend/", views.list_extend, name="list_extend"),
    path("lists/<int:list_id>/export.csv", views.list_export, name="list_export"),
]

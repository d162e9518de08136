"""Randomization pages, mounted at ``/randomization/`` (namespace
``randomization``)."""

from django.urls import path

from randomization.views import lists, monitoring, randomize

app_name = "randomization"

urlpatterns = [
    path(
        "participants/<str:study_id>/randomize/",
        randomize.participant_randomize,
        name="randomize",
    ),
    path(
        "participants/<str:study_id>/allocation/",
        randomize.participant_allocation,
        name="allocation",
    ),
    path(
        "participants/<str:study_id>/allocation.pdf",
        randomize.participant_allocation_pdf,
        name="allocation_pdf",
    ),
    path("log/", monitoring.randomization_log, name="log"),
    path("balance/", monitoring.stratum_balance, name="balance"),
    path("lists/", lists.list_index, name="list_index"),
    path("lists/generate/", lists.list_generate, name="list_generate"),
    path("lists/import/", lists.list_import, name="list_import"),
    path("lists/<int:list_id>/", lists.list_detail, name="list_detail"),
    path("lists/<int:list_id>/verify/", lists.list_verify, name="list_verify"),
    path("lists/<int:list_id>/activate/", lists.list_activate, name="list_activate"),
    path("lists/<int:list_id>/extend/", lists.list_extend, name="list_extend"),
    path("lists/<int:list_id>/export.csv", lists.list_export, name="list_export"),
]

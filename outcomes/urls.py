"""URLs of the DSMB reports (included under /reports/)."""

from django.urls import path

from outcomes import views

app_name = "outcomes"

urlpatterns = [
    path("", views.report_list, name="report_list"),
    path("<int:report_id>/", views.report_detail, name="report_detail"),
    path("<int:report_id>/status/", views.report_status, name="report_status"),
    path("<int:report_id>/pdf/", views.report_download_pdf, name="report_pdf"),
    path("<int:report_id>/json/", views.report_download_json, name="report_json"),
    # The statistician's decisions (POST only).
    path("<int:report_id>/release/", views.report_release, name="report_release"),
    path("<int:report_id>/withdraw/", views.report_withdraw, name="report_withdraw"),
    path(
        "<int:report_id>/recommendation/",
        views.report_recommendation,
        name="report_recommendation",
    ),
    path("downloads/", views.download_log, name="download_log"),
    path("dataset/", views.dataset_export, name="dataset_export"),
    path("dataset/dictionary/", views.dataset_dictionary, name="dataset_dictionary"),
]

"""URLs of the export wizard (included under /exports/)."""

from django.urls import path

from outcomes.data_export import views

app_name = "exports"

urlpatterns = [
    path("", views.data_export_list, name="list"),
    path("<int:export_id>/", views.data_export_detail, name="detail"),
    path("<int:export_id>/download/", views.data_export_download, name="download"),
]

"""URLs of the dashboards (included at the site root)."""

from django.urls import path

from crf.schedule.dashboards import grid_views
from crf.schedule.dashboards import views as dashboard_views

app_name = "dashboards"

urlpatterns = [
    path("dashboard/", dashboard_views.site_dashboard, name="site"),
    path("data-quality/", dashboard_views.data_quality, name="data_quality"),
    path("record-status/", grid_views.record_status, name="record_status"),
]

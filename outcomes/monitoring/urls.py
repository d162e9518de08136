"""URLs of central statistical monitoring (included under /monitoring/)."""

from django.urls import path

from outcomes.monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("", views.monitoring_summary, name="summary"),
    path("funnel/<slug:indicator_code>.png", views.funnel_png, name="funnel_png"),
]

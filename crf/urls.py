"""URLs of the CRF app, each part with its own (included at the site root):
forms (namespace ``crf``), queries (``queries``), dashboards (``dashboards``)."""

from django.urls import include, path

urlpatterns = [
    path("", include("crf.forms.urls")),
    path("", include("crf.queries.urls")),
    path("", include("crf.schedule.dashboards.urls")),
    path("", include("crf.epro.urls")),
]

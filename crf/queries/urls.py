"""URLs of data queries (included at the site root)."""

from django.urls import path

from crf.queries import views as query_views

app_name = "queries"

urlpatterns = [
    path("queries/", query_views.query_list, name="list"),
    path("queries/new/", query_views.query_new, name="new"),
    path("queries/<int:query_id>/", query_views.query_detail, name="detail"),
]

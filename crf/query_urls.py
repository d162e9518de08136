"""URLs of the CRF app (query_urls)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []

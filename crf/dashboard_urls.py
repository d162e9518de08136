"""URLs of the CRF app (dashboard_urls)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []

from django.urls import path

from infrastructure import views

urlpatterns = [
    path("emails/", views.email_log, name="email_log"),
]

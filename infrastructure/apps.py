from django.apps import AppConfig


class InfrastructureConfig(AppConfig):
    name = "infrastructure"
    verbose_name = "Platform infrastructure"

    def ready(self):
        from infrastructure import checks  # noqa: F401 - registers the system check

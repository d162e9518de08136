from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo trial (``manage.py seed_demo``): the top floor. It drives every
    app through its services; nothing imports it (the layer check)."""

    name = "demo"
    verbose_name = "Demo trial"

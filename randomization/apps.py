from django.apps import AppConfig


class RandomizationConfig(AppConfig):
    name = "randomization"
    verbose_name = "Randomization"

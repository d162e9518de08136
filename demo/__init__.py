"""The demo trial, the top floor: ``manage.py seed_demo`` and what it plans
and writes (``demo.trial`` describes it and is what callers import).

It may import every app and drives them through their services; no app
imports it (the layer check in ``make lint``).
"""

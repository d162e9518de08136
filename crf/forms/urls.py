"""URLs of the CRF pages: a participant's forms hub, and for every form its
entry page, audit history, signature and lock; signing or locking a
participant's complete forms at once, locking one visit's forms across a site
(``crf.forms.bulk``), and the participants awaiting randomization
(``crf.forms.awaiting``).

A form is named by its registry key and, for follow-ups, the visit code
(``forms/follow-up/<visit>/``) or, for repeatable forms, its id.
"""

from django.urls import path

from crf.forms import awaiting, bulk, hub, views

app_name = "crf"

BASE = "participants/<str:study_id>/forms/"
ACTIONS = [
    ("history/", views.form_history, "history"),
    ("sign/", views.form_sign, "sign"),
    ("lock/", views.form_lock, "lock"),
    ("unlock/", views.form_unlock, "unlock"),
]


def _form_routes(route: str, prefix: str, extra: dict | None = None) -> list:
    """The edit page at ``route`` and its history, sign, lock, unlock pages."""
    extra = extra or {}
    return [
        path(route, views.form_edit, extra, name=f"{prefix}_edit"),
        *[
            path(route + suffix, view, extra, name=f"{prefix}_{name}")
            for suffix, view, name in ACTIONS
        ],
    ]


urlpatterns = [
    path(BASE, hub.participant_forms, name="participant_forms"),
    # Before the forms' own routes: "sign-all" and "lock-all" are no form keys.
    path(BASE + "sign-all/", bulk.participant_forms_sign, name="participant_sign"),
    path(BASE + "lock-all/", bulk.participant_forms_lock, name="participant_lock"),
    path("forms/lock-visit/", bulk.visit_forms_lock, name="visit_forms_lock"),
    path(
        "awaiting-randomization/",
        awaiting.awaiting_randomization,
        name="awaiting_randomization",
    ),
    *_form_routes(BASE + "follow-up/<str:visit>/", "visit", {"key": "follow-up"}),
    path(
        BASE + "<str:key>/new/",
        views.form_edit,
        {"new": True},
        name="repeatable_new",
    ),
    *_form_routes(BASE + "<str:key>/<int:pk>/", "repeatable"),
    *_form_routes(BASE + "<str:key>/", "single"),
]

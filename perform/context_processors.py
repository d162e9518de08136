"""Template context shared by every page: the role-aware navigation."""

from django.conf import settings
from django.urls import reverse

# (label, url name, permission needed); the first match a user holds is "home".
NAVIGATION = [
    ("Participants", "participant_list", "perform.view_participant"),
    ("Screen a patient", "participant_screen", "perform.screen_participant"),
    ("Screening log", "screening_log", "perform.view_participant"),
    ("Screening summary", "screening_summary", "perform.view_screening_summary"),
    ("Randomization log", "randomization:log", "randomization.view_randomization_log"),
    ("Balance", "randomization:balance", "randomization.view_balance"),
    ("Allocation lists", "randomization:list_index", "randomization.manage_lists"),
]


def navigation(request):
    user = getattr(request, "user", None)
    items = []
    if user is not None and user.is_authenticated:
        for label, url_name, perm in NAVIGATION:
            if user.has_perm(perm):
                items.append({"label": label, "url": reverse(url_name)})
    return {
        "nav_items": items,
        "platform_version": settings.PLATFORM_VERSION,
        "trial": settings.TRIAL,
    }

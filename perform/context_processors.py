"""Template context shared by every page: the role-aware navigation."""

from django.conf import settings
from django.urls import reverse

# (label, url name, permissions needed — all of them).
NAVIGATION = [
    ("Dashboard", "dashboards:site", ("crf.view_forms",)),
    ("Participants", "participant_list", "perform.view_participant"),
    ("Screen a patient", "participant_screen", "perform.screen_participant"),
    ("Screening log", "screening_log", "perform.view_participant"),
    ("Screening summary", "screening_summary", "perform.view_screening_summary"),
    ("Randomization log", "randomization:log", "randomization.view_randomization_log"),
    ("Balance", "randomization:balance", "randomization.view_balance"),
    ("Allocation lists", "randomization:list_index", "randomization.manage_lists"),
    ("Queries", "queries:list", "crf.view_forms"),
    (
        "Data quality",
        "dashboards:data_quality",
        ("perform.view_all_sites", "crf.view_forms"),
    ),
    ("E-mail log", "email_log", "perform.view_outboundemail"),
    ("Roles", "role_accounts", "perform.view_role_history"),
    ("DSMB reports", "outcomes:report_list", "outcomes.view_open_report"),
]
# The account menu (under the user's name): everyone's own settings.
ACCOUNT_MENU = [
    ("Account security", "two_factor:profile"),
    ("E-mail settings", "notification_settings"),
    ("Change password", "password_change"),
]


def navigation(request):
    user = getattr(request, "user", None)
    items = []
    if user is not None and user.is_authenticated:
        for label, url_name, perms in NAVIGATION:
            perms = (perms,) if isinstance(perms, str) else perms
            if user.has_perms(perms):
                items.append({"label": label, "url": reverse(url_name)})
    return {
        "nav_items": items,
        "account_items": [
            {"label": label, "url": reverse(url_name)}
            for label, url_name in ACCOUNT_MENU
        ]
        if user is not None and user.is_authenticated
        else [],
        "platform_version": settings.PLATFORM_VERSION,
        "trial": settings.TRIAL,
        "two_factor_off": not settings.TWO_FACTOR_REQUIRED,
    }

"""Template context shared by every page: the role-aware navigation.

The menus themselves are composed on the top floor, where every app's pages
are known (``config.navigation``, named by ``settings.NAVIGATION_MENUS``); this
module only filters them by the user's permissions.
"""

from importlib import import_module

from django.conf import settings
from django.urls import reverse


def navigation(request):
    menus = import_module(settings.NAVIGATION_MENUS)
    user = getattr(request, "user", None)
    items = []
    if user is not None and user.is_authenticated:
        for label, url_name, perms in menus.NAVIGATION:
            perms = (perms,) if isinstance(perms, str) else perms
            if user.has_perms(perms):
                items.append({"label": label, "url": reverse(url_name)})
    return {
        "nav_items": items,
        "account_items": [
            {"label": label, "url": reverse(url_name)}
            for label, url_name in menus.ACCOUNT_MENU
        ]
        if user is not None and user.is_authenticated
        else [],
        "platform_version": settings.PLATFORM_VERSION,
        "trial": settings.TRIAL,
        "two_factor_off": not settings.TWO_FACTOR_REQUIRED,
    }

"""Template context shared by every page: the role-aware navigation.

The menus themselves are composed on the top floor, where every app's pages
are known (``config.navigation``, named by ``settings.NAVIGATION_MENUS``); this
module only filters them by the user's permissions.
"""

from importlib import import_module

from django.conf import settings
from django.urls import reverse


def _allowed_links(user, entries) -> list[dict]:
    links = []
    for label, url_name, perms in entries:
        perms = (perms,) if isinstance(perms, str) else perms
        if user.has_perms(perms):
            links.append({"label": label, "url": reverse(url_name)})
    return links


def navigation_menu_for(user, menu) -> list[dict]:
    """The entries of ``menu`` that ``user`` may open, in order: links
    ``{label, url}`` and dropdowns ``{label, links: [links]}``. A dropdown with
    one allowed link becomes that link; one with none is left out."""
    entries = []
    for entry in menu:
        if len(entry) == 3:
            entries.extend(_allowed_links(user, [entry]))
            continue
        label, children = entry
        links = _allowed_links(user, children)
        if len(links) == 1:
            entries.extend(links)
        elif links:
            entries.append({"label": label, "links": links})
    return entries


def navigation(request):
    menus = import_module(settings.NAVIGATION_MENUS)
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    menu = navigation_menu_for(user, menus.NAVIGATION) if signed_in else []
    return {
        "nav_menu": menu,
        # Every page the user may open from the menu, dropdowns flattened.
        "nav_items": [link for entry in menu for link in entry.get("links", [entry])],
        "account_items": [
            {"label": label, "url": reverse(url_name)}
            for label, url_name in menus.ACCOUNT_MENU
        ]
        if signed_in
        else [],
        "platform_version": settings.PLATFORM_VERSION,
        "trial": settings.TRIAL,
        "two_factor_off": not settings.TWO_FACTOR_REQUIRED,
    }

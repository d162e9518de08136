"""Role expectations for the /api/v1/ routes (part of the role × URL matrix).

GET with a session login. The API answers 401 (not a redirect) to anonymous
callers, 403 to a role without the permission, 404 for another site's
participant (existence not revealed).
"""


def _row(default, **cells):
    from tests.test_role_url_matrix import row

    return row(default, **cells)


EXPECTED = {
    # Token exchange is POST only.
    "api/v1/auth/token/": _row(405),
    # Logging a token out: token authentication only (a session is anonymous
    # to it), POST only.
    "api/v1/auth/logout/": _row(401),
    "api/v1/auth/logout-all/": _row(401),
    # Sites in the caller's scope; an empty list for roles with no site access.
    "api/v1/sites/": _row(200, anonymous=401),
    "api/v1/participants/": _row(200, anonymous=401, dsmb=403, admin=403, owner=403),
    "api/v1/participants/<str:study_id>/": _row(
        200, anonymous=401, coordinator2=404, dsmb=404, admin=404, owner=404
    ),
    # Randomizing is POST only. DRF checks authentication and permissions
    # before the method, and the permission names POST only, so every
    # logged-in role gets 405 (anonymous 401) whatever the participant's site.
    "api/v1/participants/<str:study_id>/randomize/": _row(405, anonymous=401),
    # CRFs: crf.view_forms to read (site staff in scope, the Methods Centre).
    "api/v1/participants/<str:study_id>/forms/": _row(
        200, anonymous=401, coordinator2=404, dsmb=403, admin=403, owner=403
    ),
    "api/v1/participants/<str:study_id>/schedule/": _row(
        200, anonymous=401, coordinator2=404, dsmb=403, admin=403, owner=403
    ),
    # Create is POST, change is PUT: a GET passes the read permission (403
    # without it) and then answers 405, before the participant is looked up.
    "api/v1/participants/<str:study_id>/forms/<str:key>/": _row(
        405, anonymous=401, dsmb=403, admin=403, owner=403
    ),
    "api/v1/participants/<str:study_id>/forms/<str:key>/<int:pk>/": _row(
        405, anonymous=401, dsmb=403, admin=403, owner=403
    ),
    "api/v1/schema/": _row(200, anonymous=401),
    # Any other API path: a JSON 404 for everyone.
    "api/v1/^(?:.*/)?$": _row(404),
}

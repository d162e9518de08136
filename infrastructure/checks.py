"""System check: the static files manifest exists where the storage needs one.

With DEBUG off the static files are served by WhiteNoise's
``CompressedManifestStaticFilesStorage``, which looks every ``{% static %}``
up in ``STATIC_ROOT/staticfiles.json``, written by ``collectstatic``. Without
that file every page raises ValueError while rendering: a 500 on every page,
found by the first user rather than by whoever started the server. So a
missing manifest stops the start instead: this check (run by ``runserver``,
``migrate`` and every other command that runs checks; ``collectstatic`` runs
only the ``staticfiles`` checks, so it still runs) and ``config.wsgi``, which
refuses to create the application, so gunicorn does not boot.
"""

from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.checks import Error, register

STATIC_MANIFEST_ERROR = "infrastructure.E001"


def static_manifest_problem() -> str | None:
    """Why the static files storage cannot serve a page, or None.

    Only a manifest storage needs the file; the plain storage that development
    (DEBUG on) and the tests use does not.
    """
    try:
        # Set up on first use: reads the manifest, ValueError if unreadable.
        if not isinstance(staticfiles_storage, ManifestFilesMixin):
            return None
    except ValueError as error:
        return f"The static files manifest cannot be read: {error}"
    manifest = staticfiles_storage.manifest_storage
    if manifest.exists(staticfiles_storage.manifest_name):
        return None
    return (
        f"The static files manifest {manifest.path(staticfiles_storage.manifest_name)}"
        " is missing, so every page would fail to render."
    )


FIX_HINT = (
    "Run `python manage.py collectstatic --noinput` (with the same STATIC_ROOT) "
    "before starting the server."
)


@register("infrastructure")
def static_manifest_check(app_configs=None, **kwargs):
    problem = static_manifest_problem()
    if problem is None:
        return []
    return [Error(problem, hint=FIX_HINT, id=STATIC_MANIFEST_ERROR)]

"""Writes of the export wizard: request an export, and build it (the
worker's job), as DSMB reports are requested and built
(``outcomes.services``).

* ``data_export_request`` checks the requester's permission and choices
  (the choices by ``outcomes.exports.build.export_choices_check``, the rules
  ``export_datasets`` itself applies: one owner of them), records the queued
  export and asks a worker to build it once the request commits.
* ``data_export_build`` claims the queued export (one conditional UPDATE: of
  two deliveries of one task, the second finds it running and does nothing;
  a done export is never rebuilt), builds the datasets with the requester's
  scope, writes every chosen format, zips them with a manifest and stores the
  zip and its SHA-256, updating the progress after each dataset. The zip is
  stored only while this build still holds its claim (checked under a row
  lock).
* ``data_export_download`` hands the stored zip to the requester or a
  statistician and logs the download.
"""

import datetime
import hashlib
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.functions import Now
from django.utils import timezone

from outcomes.data_export.archive import manifest, zip_files
from outcomes.data_export.models import DataExport, DataExportDownload
from outcomes.data_export.selectors import data_export_get
from outcomes.exports import EXPORT_WRITERS
from outcomes.exports.build import export_choices_check, export_datasets
from outcomes.exports.dataset import ExportDataError

log = logging.getLogger(__name__)


def _listed(values) -> list[str] | None:
    """Sorted unique values, or None ("all") for None or nothing chosen."""
    return sorted(set(values)) if values else None


@transaction.atomic
def data_export_request(
    *,
    user,
    forms: list[str],
    formats: list[str],
    fields: list[str] | None = None,
    sites: list[str] | None = None,
    visits: list[str] | None = None,
    cutoff: datetime.date | None = None,
) -> DataExport:
    """Queue an export of ``forms`` in ``formats`` for ``user``.

    ``fields``, ``sites``, ``visits``: None or empty for all (sites: all in
    the user's scope). Raises ``PermissionDenied`` without
    ``outcomes.export_data`` and ``ValidationError`` (keyed by choice) for
    choices that cannot be exported.
    """
    if not user.has_perm("outcomes.export_data"):
        raise PermissionDenied("You may not export data.")
    if not forms:
        raise ValidationError({"forms": "Choose at least one form."})
    if not formats:
        raise ValidationError({"formats": "Choose at least one format."})
    unknown = sorted(set(formats) - set(EXPORT_WRITERS))
    if unknown:
        raise ValidationError({"formats": f"Unknown format: {', '.join(unknown)}."})
    if cutoff is not None and cutoff > timezone.localdate():
        raise ValidationError({"cutoff": "The data cut-off cannot be in the future."})
    choices = {
        "forms": _listed(forms),
        "fields": _listed(fields),
        "sites": _listed([site.upper() for site in sites or ()]),
        "visits": _listed(visits),
    }
    try:
        export_choices_check(user=user, **choices)
    except ExportDataError as error:
        raise ValidationError(str(error), code="choices") from error
    export = DataExport.objects.create(
        requested_by=user, cutoff=cutoff, formats=_listed(formats), **choices
    )
    data_export_enqueue(export)
    return export


def data_export_enqueue(export: DataExport) -> None:
    """Ask a worker to build ``export`` once this transaction commits."""
    export_id = export.pk

    def send():
        from outcomes.tasks import data_export_build_task

        data_export_build_task.delay(export_id=export_id)

    transaction.on_commit(send, robust=True)


def _claimed(export_id: int):
    return DataExport.objects.filter(pk=export_id, status=DataExport.Status.RUNNING)


def _progress(export_id: int, percent: int, stage: str) -> None:
    # Committed at once (the task runs in autocommit): the export's page,
    # refreshing while it is built, shows each stage.
    _claimed(export_id).update(progress=percent, stage=stage, heartbeat_at=Now())


def _claim(export_id: int) -> DataExport | None:
    claimed = DataExport.objects.filter(
        pk=export_id, status=DataExport.Status.QUEUED
    ).update(
        status=DataExport.Status.RUNNING,
        progress=1,
        stage="Starting",
        started_at=Now(),
        heartbeat_at=Now(),
    )
    if not claimed:
        log.info("Data export %s not claimed: not queued", export_id)
        return None
    return DataExport.objects.select_related("requested_by").get(pk=export_id)


def _built_files(export: DataExport, generated_at: datetime.datetime) -> bytes:
    """The zip of ``export``: ``<format>/<dataset>/<file>`` for every chosen
    format and dataset, and ``manifest.json``."""
    _progress(export.pk, 5, "Reading the data")
    datasets = export_datasets(
        user=export.requested_by,
        forms=export.forms,
        fields=export.fields,
        sites=export.sites,
        visits=export.visits,
        cutoff=export.cutoff,
    )
    files: dict[str, bytes] = {}
    for done, dataset in enumerate(datasets, start=1):
        for fmt in export.formats:
            for name, data in EXPORT_WRITERS[fmt](dataset).items():
                files[f"{fmt}/{dataset.name}/{name}"] = data
        # Reading is about a quarter of the work, writing the rest.
        _progress(
            export.pk,
            25 + 65 * done // len(datasets),
            f"Written {dataset.label} ({done} of {len(datasets)})",
        )
    parameters = {
        "requested_by": export.requested_by.get_username(),
        "requested_at": export.requested_at.isoformat(),
        "forms": export.forms,
        "fields": export.fields,
        "sites": export.sites,
        "visits": export.visits,
        "cutoff": export.cutoff.isoformat() if export.cutoff else None,
        "formats": export.formats,
    }
    files["manifest.json"] = manifest(
        parameters=parameters,
        counts={dataset.name: len(dataset.rows) for dataset in datasets},
        files=files,
        generated_at=generated_at,
        platform_version=settings.PLATFORM_VERSION,
    )
    _progress(export.pk, 95, "Zipping")
    return zip_files(files, generated_at=generated_at)


def _store(export_id: int, content: bytes, generated_at) -> bool:
    """Store the zip and mark the export done, if this build still holds its
    claim (row locked until the commit)."""
    with transaction.atomic():
        if not _claimed(export_id).select_for_update().exists():
            return False
        DataExport.objects.filter(pk=export_id).update(
            status=DataExport.Status.DONE,
            progress=100,
            stage="Ready",
            generated_at=generated_at,
            platform_version=settings.PLATFORM_VERSION,
            content=content,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
        )
    return True


def data_export_build(*, export_id: int) -> DataExport | None:
    """Build and store export ``export_id`` (the worker's task body).
    Returns the done export, or None when there was nothing to do."""
    export = _claim(export_id)
    if export is None:
        return None
    generated_at = timezone.now()
    try:
        content = _built_files(export, generated_at)
        stored = _store(export_id, content, generated_at)
    except Exception as error:
        log.exception("Data export %s failed", export_id)
        _claimed(export_id).update(
            status=DataExport.Status.FAILED, error=f"{type(error).__name__}: {error}"
        )
        raise
    if not stored:
        return None
    export.refresh_from_db()
    return export


def data_export_download(
    *, user, export_id: int, ip_address: str | None = None
) -> tuple[bytes, DataExport]:
    """(zip bytes, export) of a done export for ``user`` (its requester or a
    statistician; ``Http404`` for anyone else); logs the download. Raises
    ``ValidationError`` if it is not ready."""
    export = data_export_get(user=user, export_id=export_id, with_content=True)
    if not export.is_done:
        raise ValidationError("This export is not ready.", code="not_ready")
    content = bytes(export.content)
    DataExportDownload.objects.create(
        export=export,
        user=user,
        sha256=hashlib.sha256(content).hexdigest(),
        ip_address=ip_address,
    )
    return content, export

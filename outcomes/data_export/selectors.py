"""Reads of the export wizard: whose exports a user sees.

Exports hold participant-level data of the requester's scope, so each is seen
by its requester only, and by those who keep the log of what left the
platform (``outcomes.view_download_log``: the statistician), who see every
export. To anyone else an export does not exist (404). The zip's bytes are
never loaded by these lists (``content`` deferred).
"""

from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404

from outcomes.data_export.models import DataExport


def sees_every_export(user) -> bool:
    return user.is_active and user.has_perm("outcomes.view_download_log")


def data_exports_for(user) -> QuerySet[DataExport]:
    """Exports ``user`` may see, newest first, with their download count."""
    exports = DataExport.objects.defer("content").select_related("requested_by")
    if not sees_every_export(user):
        exports = exports.filter(requested_by=user)
    return exports.annotate(download_count=Count("downloads")).order_by(
        "-requested_at", "-id"
    )


def data_export_get(*, user, export_id: int, with_content: bool = False) -> DataExport:
    """The export, if ``user`` may see it (``Http404`` otherwise); its zip
    is read only ``with_content`` (the download)."""
    exports = DataExport.objects.select_related("requested_by")
    if not with_content:
        exports = exports.defer("content")
    if not sees_every_export(user):
        exports = exports.filter(requested_by=user)
    return get_object_or_404(exports, pk=export_id)

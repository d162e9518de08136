"""Downloads of DSMB report files and of the analysis dataset (PROTOCOL §11:
every download of a report or dataset is logged).

Each hands over the file and writes its ``ReportDownload`` row: who, when,
from which address, what (the report and format, or the dataset's cut-off)
and the SHA-256 of the bytes served.

* ``report_file``: a report's PDF or JSON, to a user for whom the report is
  ``downloadable`` (``outcomes.selectors``: released and not withdrawn, or any
  ready report for those who may release reports). A report the user may not
  see is a 404; one they see but may not download (withdrawn, or still being
  built) is refused with a ``ValidationError`` the view also answers 404.
* ``dataset_csv`` and ``dictionary_csv``: the analysis dataset as of a
  cut-off, and its data dictionary, to those who may export it.
"""

import datetime
import hashlib
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError

from outcomes.derivation import (
    DICTIONARY_COLUMNS,
    analysis_dataset,
    columns,
    dictionary_rows,
)
from outcomes.inputs import table_csv
from outcomes.models import ReportDownload
from outcomes.selectors import report_get

Format = ReportDownload.Format


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def report_file(*, user, report_id: int, fmt: str, ip_address: str | None = None):
    """(path, file name) of report ``report_id``'s ``fmt`` file for ``user``;
    logs the download. Raises Http404 for a report the user may not see."""
    report = report_get(user=user, report_id=report_id)
    if report.withdrawn_at is not None and not report.downloadable:
        raise ValidationError(
            f"This report was withdrawn: {report.withdrawal_reason}", code="withdrawn"
        )
    if not report.downloadable:
        raise ValidationError("This report is not ready yet.", code="not_ready")
    name = report.pdf_name if fmt == Format.PDF else report.json_name
    path = Path(settings.REPORTS_ROOT) / name
    if not path.is_file():
        raise ValidationError("The report file is missing.", code="missing")
    ReportDownload.objects.create(
        report=report,
        user=user,
        format=fmt,
        sha256=_file_sha256(path),
        ip_address=ip_address,
    )
    return path, Path(name).name


def _may_export(user) -> None:
    if not user.has_perm("outcomes.export_analysis_dataset"):
        raise PermissionDenied("You may not export the analysis dataset.")


def _logged(content: bytes, **row) -> bytes:
    ReportDownload.objects.create(sha256=hashlib.sha256(content).hexdigest(), **row)
    return content


def dataset_csv(
    *, user, cutoff: datetime.date, ip_address: str | None = None
) -> tuple[bytes, str]:
    """(CSV bytes, file name) of the analysis dataset as of ``cutoff`` (one
    row per randomized participant, arms included); logs the download."""
    _may_export(user)
    text = table_csv(columns(), analysis_dataset(cutoff=cutoff).rows)
    content = _logged(
        text.encode(),
        user=user,
        format=Format.DATASET,
        cutoff=cutoff,
        ip_address=ip_address,
    )
    return content, f"perform-analysis-dataset-{cutoff}.csv"


def dictionary_csv(*, user, ip_address: str | None = None) -> tuple[bytes, str]:
    """(CSV bytes, file name) of the analysis dataset's data dictionary; logs
    the download."""
    _may_export(user)
    text = table_csv(DICTIONARY_COLUMNS, dictionary_rows())
    content = _logged(
        text.encode(), user=user, format=Format.DICTIONARY, ip_address=ip_address
    )
    return content, "perform-analysis-dataset-dictionary.csv"

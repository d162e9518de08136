"""The export wizard end to end with a real ``celery worker`` process on the
real Redis broker and the test database: a request through the page is built
by the worker, the page shows it ready with its digest, and the zip
downloaded is the one stored (its SHA-256 the stored digest). A second
delivery of the task, run by the same worker, builds nothing.

Counts from ``tests.outcomes.exports.trial``: the Death form exists for
PRF-TOR-0001 only (1 row); 4 participants are exported (5 minus TOR-0004,
who refused the use of their data).
"""

import hashlib
import io
import zipfile

import pytest
from django.urls import reverse

from outcomes.models import DataExport, DataExportDownload
from outcomes.tasks import data_export_build_task
from tests.outcomes.exports.trial import export_trial_build
from tests.workers import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_requested_export_is_built_by_a_worker_and_downloaded(
    workers, client, users, site_a, site_b
):
    export_trial_build(users, site_a, site_b)
    worker = workers()
    client.force_login(users["statistician"])
    response = client.post(
        reverse("exports:list"), {"forms": ["death"], "formats": ["csv", "spss"]}
    )
    export = DataExport.objects.get()
    assert response["Location"] == reverse("exports:detail", args=[export.pk])
    done = DataExport.objects.filter(pk=export.pk, status__in=["done", "failed"])
    assert wait_for(done.exists), worker.log()
    export.refresh_from_db()
    assert export.status == "done", export.error

    page = client.get(reverse("exports:detail", args=[export.pk]))
    assert export.sha256 in page.content.decode()
    download = client.get(reverse("exports:download", args=[export.pk]))
    assert hashlib.sha256(download.content).hexdigest() == export.sha256
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        names = set(archive.namelist())
        death = archive.read("csv/death/death.csv").decode().splitlines()
    assert {
        "manifest.json",
        "csv/death/death.csv",
        "csv/death/death_codebook.csv",
        "spss/death/death.sav",
        "csv/participants/participants.csv",
        "spss/participants/participants.sav",
    } <= names
    assert len(death) == 1 + 1  # header and PRF-TOR-0001's Death form
    assert death[1].startswith("PRF-TOR-0001,")
    assert DataExportDownload.objects.get().user == users["statistician"]

    # The broker delivering the task again: the worker builds nothing.
    result = data_export_build_task.delay(export_id=export.pk)
    assert result.get(timeout=60) == {"export_id": export.pk, "built": False}
    assert DataExport.objects.get(pk=export.pk).sha256 == export.sha256

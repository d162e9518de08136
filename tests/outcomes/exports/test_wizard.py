"""The export wizard (issue 17, PROTOCOL §14): requests through the page and
the service, the worker's build (called directly, as the report tests do),
the stored zip and its digest, exactly-once builds, who sees and downloads
which export, and the download log.

The data are the hand-built trial of ``tests.outcomes.exports.trial`` (its
docstring lists every participant and form). Counts used below, from it:

* participants in the statistician's scope: TOR-0001, TOR-0002, TOR-0003,
  HAM-0001 = 4 (TOR-0004 refused the use of their data: left out);
* Operative forms: TOR-0001, TOR-0002, HAM-0001 = 3;
* at site HAM only: 1 participant, 1 Operative form.
"""

import csv
import datetime
import hashlib
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from outcomes.data_export.models import DataExport, DataExportDownload
from outcomes.data_export.services import data_export_build, data_export_request
from outcomes.tasks import data_export_build_task
from tests.outcomes.exports.trial import export_trial_build
from tests.outcomes.exports.wizard import manifest_of, zip_member, zip_names

pytestmark = pytest.mark.django_db


@pytest.fixture
def trial(users, site_a, site_b):
    export_trial_build(users, site_a, site_b)


@pytest.fixture
def sent(monkeypatch):
    """Export ids whose build task was sent (on commit), no broker reached."""
    calls = []
    monkeypatch.setattr(
        data_export_build_task,
        "delay",
        lambda *, export_id: calls.append(export_id),
    )
    return calls


def request_built(user, django_capture_on_commit_callbacks, **choices):
    """Request an export and run its build task as the worker would."""
    with django_capture_on_commit_callbacks(execute=True):
        export = data_export_request(user=user, **choices)
    result = data_export_build_task.run(export_id=export.pk)
    assert result == {"export_id": export.pk, "built": True}
    export.refresh_from_db()
    return export


def csv_column(data: bytes, name: str) -> list[str]:
    return [row[name] for row in csv.DictReader(io.StringIO(data.decode()))]


# --- the page: bad input ----------------------------------------------------


def test_bad_input_re_renders_with_every_error_and_saves_nothing(
    client, users, trial, sent
):
    """No form, no format, a cut-off tomorrow and a format that does not
    exist: each field marked, a summary at the top, nothing saved or sent."""
    client.force_login(users["statistician"])
    url = reverse("exports:list")
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = client.post(url, {"cutoff": tomorrow.isoformat(), "formats": ["xlsx"]})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"forms", "formats", "cutoff"}
    page = response.content.decode()
    assert 'id="error-summary"' in page
    assert "Choose at least one form." in page
    assert "cannot be in the future" in page
    assert not DataExport.objects.exists() and sent == []


def test_choices_export_datasets_refuses_re_render_and_save_nothing(
    client, users, trial, sent
):
    """A field offered by the page but not held by the chosen form (the
    Operative's ``surgery_date`` with the Baseline only) passes the form and
    is refused by the build's own rule, shown as a form error."""
    client.force_login(users["statistician"])
    response = client.post(
        reverse("exports:list"),
        {"forms": ["baseline"], "fields": ["surgery_date"], "formats": ["csv"]},
    )
    assert response.status_code == 200
    assert "Unknown field: surgery_date" in response.content.decode()
    assert not DataExport.objects.exists() and sent == []


def test_a_site_outside_the_scope_is_refused_by_the_service(users, trial, sent):
    """The service checks sites against the requester's scope (a site that
    does not exist is refused the same way), and the permission."""
    with pytest.raises(ValidationError, match="Unknown site: XYZ"):
        data_export_request(
            user=users["datamanager"],
            forms=["operative"],
            formats=["csv"],
            sites=["XYZ"],
        )
    with pytest.raises(PermissionDenied):
        data_export_request(
            user=users["coordinator"], forms=["operative"], formats=["csv"]
        )
    assert not DataExport.objects.exists() and sent == []


def test_a_valid_post_queues_the_export_and_sends_its_task_on_commit(
    client, users, trial, django_capture_on_commit_callbacks, sent
):
    client.force_login(users["datamanager"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("exports:list"),
            {
                "forms": ["operative", "baseline"],
                "formats": ["stata", "csv"],
                "sites": ["HAM"],
                "visits": ["2w"],
                "cutoff": "2026-02-28",
            },
        )
    export = DataExport.objects.get()
    assert response["Location"] == reverse("exports:detail", args=[export.pk])
    assert (export.forms, export.formats, export.sites, export.visits) == (
        ["baseline", "operative"],
        ["csv", "stata"],
        ["HAM"],
        ["2w"],
    )
    assert export.fields is None and export.cutoff == datetime.date(2026, 2, 28)
    assert (export.status, export.requested_by) == ("queued", users["datamanager"])
    assert sent == [export.pk]


# --- the build --------------------------------------------------------------


def test_the_build_stores_every_chosen_format_and_its_digest(
    users, trial, django_capture_on_commit_callbacks
):
    """Forms Baseline and Operative, CSV and Stata: three datasets
    (participants, baseline, operative) × (CSV: data and codebook; Stata:
    .dta) = 9 files, and the manifest. The digest is the zip's SHA-256."""
    export = request_built(
        users["statistician"],
        django_capture_on_commit_callbacks,
        forms=["operative", "baseline"],
        formats=["csv", "stata"],
    )
    assert (export.status, export.progress, export.stage) == ("done", 100, "Ready")
    content = bytes(export.content)
    assert export.sha256 == hashlib.sha256(content).hexdigest()
    assert export.size == len(content)
    expected = {"manifest.json"}
    for dataset in ("participants", "baseline", "operative"):
        expected |= {
            f"csv/{dataset}/{dataset}.csv",
            f"csv/{dataset}/{dataset}_codebook.csv",
            f"stata/{dataset}/{dataset}.dta",
        }
    assert zip_names(export) == expected
    operative = zip_member(export, "csv/operative/operative.csv")
    assert csv_column(operative, "study_id") == [
        "PRF-HAM-0001",
        "PRF-TOR-0001",
        "PRF-TOR-0002",
    ]
    manifest = manifest_of(export)
    assert manifest["rows"]["participants"] == 4
    assert manifest["rows"]["operative"] == 3
    assert manifest["parameters"]["formats"] == ["csv", "stata"]
    assert manifest["parameters"]["requested_by"] == "statistician"
    assert manifest["files"]["stata/operative/operative.dta"] == len(
        zip_member(export, "stata/operative/operative.dta")
    )


def test_every_format_writes_its_files(
    users, trial, django_capture_on_commit_callbacks
):
    """The Death form in all five formats: participants and death datasets,
    each with CSV + codebook, .dta, .sav, .xpt + formats.sas, R's CSV + load
    script: 2 × 8 files and the manifest."""
    export = request_built(
        users["statistician"],
        django_capture_on_commit_callbacks,
        forms=["death"],
        formats=["csv", "stata", "spss", "sas", "r"],
    )
    expected = {"manifest.json"}
    for name in ("participants", "death"):
        expected |= {
            f"csv/{name}/{name}.csv",
            f"csv/{name}/{name}_codebook.csv",
            f"stata/{name}/{name}.dta",
            f"spss/{name}/{name}.sav",
            f"sas/{name}/{name}.xpt",
            f"sas/{name}/formats.sas",
            f"r/{name}/{name}.csv",
            f"r/{name}/load_{name}.R",
        }
    assert zip_names(export) == expected


def test_the_requesters_scope_and_choices_apply(
    users, trial, django_capture_on_commit_callbacks
):
    """The data manager exporting site HAM only, the surgery date only: 1
    participant, 1 Operative form whose columns are the identifying ones
    (study ID, site, form status) and the chosen field."""
    export = request_built(
        users["datamanager"],
        django_capture_on_commit_callbacks,
        forms=["operative"],
        fields=["surgery_date"],
        formats=["csv"],
        sites=["ham"],
    )
    assert export.sites == ["HAM"]
    assert manifest_of(export)["rows"] == {"participants": 1, "operative": 1}
    participants = zip_member(export, "csv/participants/participants.csv")
    assert csv_column(participants, "study_id") == ["PRF-HAM-0001"]
    operative = zip_member(export, "csv/operative/operative.csv").decode()
    assert operative.splitlines() == [
        "study_id,site,form_status,surgery_date",
        "PRF-HAM-0001,HAM,complete,2026-02-12",  # trial: Operative 02-12
    ]


def test_running_the_task_twice_builds_once(
    users, trial, django_capture_on_commit_callbacks
):
    """A second delivery after the build finds it done and changes nothing,
    nor does a delivery for a running build (claimed by another worker)."""
    export = request_built(
        users["statistician"],
        django_capture_on_commit_callbacks,
        forms=["death"],
        formats=["csv"],
    )
    assert data_export_build_task.run(export_id=export.pk) == {
        "export_id": export.pk,
        "built": False,
    }
    again = DataExport.objects.get(pk=export.pk)
    assert (again.sha256, again.generated_at) == (export.sha256, export.generated_at)

    running = DataExport.objects.create(
        requested_by=users["statistician"],
        forms=["death"],
        formats=["csv"],
        status="running",
    )
    assert data_export_build(export_id=running.pk) is None
    running.refresh_from_db()
    assert running.status == "running" and running.content is None


def test_a_failing_build_is_marked_failed_with_the_error(
    users, trial, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(dataset):
        raise RuntimeError("disk full")

    monkeypatch.setitem(
        __import__("outcomes.exports", fromlist=["EXPORT_WRITERS"]).EXPORT_WRITERS,
        "csv",
        broken,
    )
    with django_capture_on_commit_callbacks(execute=True):
        export = data_export_request(
            user=users["statistician"], forms=["death"], formats=["csv"]
        )
    with pytest.raises(RuntimeError):
        data_export_build(export_id=export.pk)
    export.refresh_from_db()
    assert export.status == "failed" and export.error == "RuntimeError: disk full"
    assert export.content is None and export.sha256 == ""


# --- pages, scope and downloads --------------------------------------------


@pytest.mark.parametrize("role", ["coordinator", "investigator", "randomizer", "dsmb"])
def test_roles_without_the_permission_cannot_reach_the_pages(
    client, users, trial, role, django_capture_on_commit_callbacks
):
    export = request_built(
        users["statistician"],
        django_capture_on_commit_callbacks,
        forms=["death"],
        formats=["csv"],
    )
    client.force_login(users[role])
    for url in (
        reverse("exports:list"),
        reverse("exports:detail", args=[export.pk]),
        reverse("exports:download", args=[export.pk]),
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("exports:list"), {}).status_code == 403
    assert not DataExportDownload.objects.exists()


def test_a_data_manager_cannot_see_or_download_the_statisticians_export(
    client, users, trial, django_capture_on_commit_callbacks
):
    export = request_built(
        users["statistician"],
        django_capture_on_commit_callbacks,
        forms=["death"],
        formats=["csv"],
    )
    client.force_login(users["datamanager"])
    assert client.get(reverse("exports:detail", args=[export.pk])).status_code == 404
    response = client.get(reverse("exports:download", args=[export.pk]))
    assert response.status_code == 404
    assert export.sha256 not in response.content.decode()
    listing = client.get(reverse("exports:list")).content.decode()
    assert f'data-export="{export.pk}"' not in listing
    assert not DataExportDownload.objects.exists()


def test_the_requester_downloads_the_zip_and_the_download_is_logged(
    client, users, trial, django_capture_on_commit_callbacks
):
    export = request_built(
        users["datamanager"],
        django_capture_on_commit_callbacks,
        forms=["death"],
        formats=["csv"],
    )
    client.force_login(users["datamanager"])
    page = client.get(reverse("exports:detail", args=[export.pk]))
    assert export.sha256 in page.content.decode()
    assert "Refresh" not in page  # done: no more refreshing
    response = client.get(reverse("exports:download", args=[export.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == (
        f'attachment; filename="perform-export-{export.pk}.zip"'
    )
    assert response["X-Content-SHA256"] == export.sha256
    assert hashlib.sha256(response.content).hexdigest() == export.sha256
    (download,) = DataExportDownload.objects.all()
    assert (download.export, download.user, download.sha256) == (
        export,
        users["datamanager"],
        export.sha256,
    )
    assert download.ip_address == "127.0.0.1"


def test_the_statistician_sees_every_export_as_the_log_and_may_download_it(
    client, users, trial, django_capture_on_commit_callbacks
):
    mine = request_built(
        users["statistician"],
        django_capture_on_commit_callbacks,
        forms=["death"],
        formats=["csv"],
    )
    theirs = request_built(
        users["datamanager"],
        django_capture_on_commit_callbacks,
        forms=["operative"],
        formats=["r"],
    )
    client.force_login(users["statistician"])
    listing = client.get(reverse("exports:list")).content.decode()
    assert "Every export (the log)" in listing
    for export, who in ((mine, "statistician"), (theirs, "datamanager")):
        assert f'data-export="{export.pk}" data-status="done" data-user="{who}"' in (
            listing
        )
        assert export.sha256[:16] in listing
    response = client.get(reverse("exports:download", args=[theirs.pk]))
    assert hashlib.sha256(response.content).hexdigest() == theirs.sha256
    assert DataExportDownload.objects.get().user == users["statistician"]
    # The data manager's own list: their export only.
    client.force_login(users["datamanager"])
    listing = client.get(reverse("exports:list")).content.decode()
    assert "Your exports" in listing
    assert f'data-export="{theirs.pk}"' in listing
    assert f'data-export="{mine.pk}"' not in listing


def test_a_queued_export_page_refreshes_itself_and_offers_no_download(
    client, users, trial, sent
):
    export = data_export_request(
        user=users["statistician"], forms=["death"], formats=["csv"]
    )
    client.force_login(users["statistician"])
    page = client.get(reverse("exports:detail", args=[export.pk]))
    assert page["Refresh"] == "3"
    assert 'id="download-export"' not in page.content.decode()
    response = client.get(reverse("exports:download", args=[export.pk]))
    assert response.status_code == 404
    assert not DataExportDownload.objects.exists()


def test_the_reports_page_links_to_the_exports_for_those_who_may_export(
    client, users, db
):
    for role, linked in (
        ("datamanager", True),
        ("statistician", True),
        ("dsmb", False),
    ):
        client.force_login(users[role])
        page = client.get(reverse("outcomes:report_list")).content.decode()
        assert ('id="data-exports-link"' in page) is linked, role


def test_the_wizard_offers_fields_grouped_by_form_and_every_visit(client, users, db):
    """The field list is grouped under each form's label; the Operative's
    ``surgery_date`` is offered under it; the visit 2w is offered."""
    client.force_login(users["datamanager"])
    page = client.get(reverse("exports:list")).content.decode()
    operative = page.index('<optgroup label="Operative')
    assert page.index('value="surgery_date"') > operative
    assert 'name="visits" value="2w"' in page

"""Who may list, read and download (released) DSMB reports; requests;
download logging; the DSMB e-mail on release; the analysis dataset export and
its logging. Drafts, release and withdrawal: test_release.py."""

import datetime
import hashlib
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from infrastructure.models import OutboundEmail
from outcomes.models import Report, ReportDownload
from outcomes.release import report_release
from outcomes.services import report_generate, report_request
from tests.outcomes.conftest import CUTOFF

NOT_ALLOWED_CLOSED = [
    "coordinator",
    "coordinator2",
    "investigator",
    "datamanager",
    "randomizer",
    "admin",
]


@pytest.fixture
def reports(trial, users, settings, tmp_path):
    """An open and a closed report, built and released by the statistician."""
    settings.REPORTS_ROOT = str(tmp_path)
    built = {}
    for kind in ("open", "closed"):
        report = report_request(actor=users["statistician"], kind=kind, cutoff=CUTOFF)
        report_generate(report_id=report.pk)
        built[kind] = report_release(
            report=report, user=users["statistician"], note="For the March meeting."
        )
    return built


def get(client, user, name, report):
    client.force_login(user)
    return client.get(reverse(f"outcomes:{name}", args=[report.pk]))


@pytest.mark.parametrize("role", NOT_ALLOWED_CLOSED)
def test_closed_report_is_invisible_to_site_staff_data_managers_and_randomizers(
    client, users, reports, role
):
    closed = reports["closed"]
    for name in ("report_detail", "report_status", "report_pdf", "report_json"):
        response = get(client, users[role], name, closed)
        assert response.status_code == 404, (role, name)
        body = b"".join(response) if response.streaming else response.content
        assert closed.dataset_sha256.encode() not in body
        assert b"%PDF" not in body
    listing = client.get(reverse("outcomes:report_list"))
    assert listing.status_code in (200, 403)
    assert f'data-report="{closed.pk}"'.encode() not in listing.content
    assert b"Closed (by arm)" not in listing.content
    assert not ReportDownload.objects.exists()


def test_data_manager_lists_and_downloads_the_open_report_only(client, users, reports):
    client.force_login(users["datamanager"])
    listing = client.get(reverse("outcomes:report_list")).content.decode()
    assert f'data-report="{reports["open"].pk}"' in listing
    assert f'data-report="{reports["closed"].pk}"' not in listing
    response = client.get(reverse("outcomes:report_pdf", args=[reports["open"].pk]))
    assert response.status_code == 200
    assert b"".join(response).startswith(b"%PDF")


@pytest.mark.parametrize("role", ["dsmb", "statistician"])
def test_dsmb_and_statistician_download_the_closed_report_and_it_is_logged(
    client, users, reports, role
):
    closed = reports["closed"]
    before = timezone.now()
    response = get(client, users[role], "report_pdf", closed)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response).startswith(b"%PDF")
    data = get(client, users[role], "report_json", closed)
    content = json.loads(b"".join(data))
    assert content["dataset_sha256"] == closed.dataset_sha256
    logged = list(ReportDownload.objects.filter(report=closed).order_by("at"))
    assert [(d.user, d.format) for d in logged] == [
        (users[role], "pdf"),
        (users[role], "json"),
    ]
    assert all(d.at >= before for d in logged)


def test_statistician_sees_each_download_in_the_log_and_the_dsmb_does_not(
    client, users, reports
):
    get(client, users["dsmb"], "report_pdf", reports["closed"])
    client.force_login(users["statistician"])
    page = client.get(reverse("outcomes:download_log")).content.decode()
    assert 'data-user="dsmb"' in page
    detail = client.get(
        reverse("outcomes:report_detail", args=[reports["closed"].pk])
    ).content.decode()
    assert "dsmb" in detail.split('id="report-downloads"')[1]
    client.force_login(users["dsmb"])
    assert client.get(reverse("outcomes:download_log")).status_code == 403
    detail = client.get(reverse("outcomes:report_detail", args=[reports["closed"].pk]))
    assert b'id="report-downloads"' not in detail.content


def test_dsmb_members_are_emailed_a_link_not_the_report_on_release(users, reports):
    emails = OutboundEmail.objects.filter(kind="dsmb_report")
    assert sorted(e.to[0] for e in emails) == [users["dsmb"].email] * 2
    closed = reports["closed"]
    email = emails.get(key=f"report-released:{closed.pk}:{users['dsmb'].pk}")
    assert reverse("outcomes:report_detail", args=[closed.pk]) in email.body_text
    assert closed.dataset_sha256 in email.body_text
    assert "For the March meeting." in email.body_text
    assert "%PDF" not in email.body_text


def test_generating_again_changes_nothing(users, reports):
    closed = reports["closed"]
    assert report_generate(report_id=closed.pk) is None
    assert OutboundEmail.objects.filter(kind="dsmb_report").count() == 2


def test_statistician_requests_through_the_page_and_bad_input_is_refused(
    client, users, db
):
    client.force_login(users["statistician"])
    url = reverse("outcomes:report_list")
    future = timezone.localdate() + datetime.timedelta(days=1)
    response = client.post(url, {"kind": "closed", "cutoff": future.isoformat()})
    assert response.status_code == 200
    assert "cannot be in the future" in response.content.decode()
    response = client.post(url, {"kind": "secret", "cutoff": "2025-13-40"})
    assert response.context["form"].errors.keys() == {"kind", "cutoff"}
    assert not Report.objects.exists()
    response = client.post(url, {"kind": "closed", "cutoff": "2026-01-31"})
    report = Report.objects.get()
    assert response["Location"] == reverse("outcomes:report_detail", args=[report.pk])
    assert (report.kind, report.cutoff, report.status) == (
        "closed",
        datetime.date(2026, 1, 31),
        "queued",
    )
    # A second click returns the report already queued.
    client.post(url, {"kind": "closed", "cutoff": "2026-01-31"})
    assert Report.objects.count() == 1


@pytest.mark.parametrize("role", ["dsmb", "datamanager", "coordinator"])
def test_only_the_statistician_may_request_reports(client, users, role):
    client.force_login(users[role])
    response = client.post(
        reverse("outcomes:report_list"), {"kind": "open", "cutoff": "2026-01-31"}
    )
    assert response.status_code == 403
    assert not Report.objects.exists()


def test_queued_reports_are_listed_to_the_statistician_only(client, users, db):
    report = report_request(
        actor=users["statistician"], kind="open", cutoff=datetime.date(2026, 1, 31)
    )
    client.force_login(users["dsmb"])
    assert (
        client.get(reverse("outcomes:report_status", args=[report.pk])).status_code
        == 404
    )
    client.force_login(users["statistician"])
    status = client.get(reverse("outcomes:report_status", args=[report.pk])).json()
    assert status["status"] == "queued" and status["pdf_url"] == ""


def test_dataset_export_is_csv_for_the_statistician_and_400_without_cutoff(
    client, users, trial
):
    client.force_login(users["statistician"])
    url = reverse("outcomes:dataset_export")
    response = client.get(url, {"cutoff": CUTOFF.isoformat()})
    assert response.status_code == 200
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("study_id,site,arm,")
    assert len(lines) == 13
    bad = client.get(url, {"cutoff": "yesterday"})
    assert bad.status_code == 400
    assert "cutoff" in bad.json()["errors"]


def test_dataset_and_dictionary_downloads_are_logged_with_cutoff_and_digest(
    client, users, trial
):
    client.force_login(users["statistician"])
    dataset = client.get(
        reverse("outcomes:dataset_export"),
        {"cutoff": CUTOFF.isoformat()},
        REMOTE_ADDR="10.1.2.3",
    )
    dictionary = client.get(reverse("outcomes:dataset_dictionary"))
    client.get(reverse("outcomes:dataset_export"), {"cutoff": "yesterday"})
    logged = list(ReportDownload.objects.order_by("at", "id"))
    assert [(d.user, d.format, d.cutoff, d.report) for d in logged] == [
        (users["statistician"], "dataset", CUTOFF, None),
        (users["statistician"], "dictionary", None, None),
    ]
    assert logged[0].ip_address == "10.1.2.3"
    assert logged[0].sha256 == hashlib.sha256(dataset.content).hexdigest()
    assert logged[1].sha256 == hashlib.sha256(dictionary.content).hexdigest()
    page = client.get(reverse("outcomes:download_log")).content.decode()
    assert f"Analysis dataset, cut-off {CUTOFF.isoformat()}" in page
    assert 'data-format="dictionary"' in page


def test_report_downloads_are_logged_with_the_digest_of_the_file_served(
    client, users, reports
):
    closed = reports["closed"]
    get(client, users["dsmb"], "report_pdf", closed)
    (download,) = ReportDownload.objects.all()
    assert download.sha256 == closed.pdf_sha256


def test_monthly_schedule_queues_both_reports_once_for_last_month(db):
    from outcomes.services import reports_monthly_request

    made = reports_monthly_request(today=datetime.date(2026, 3, 1))
    assert sorted((r.kind, r.cutoff, r.requested_by) for r in made) == [
        ("closed", datetime.date(2026, 2, 28), None),
        ("open", datetime.date(2026, 2, 28), None),
    ]
    assert reports_monthly_request(today=datetime.date(2026, 3, 1)) == []
    assert Report.objects.count() == 2


def test_monthly_schedule_is_a_beat_row(db):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="dsmb-reports-monthly")
    assert task.task == "outcomes.tasks.reports_monthly_task"
    assert (task.crontab.day_of_month, task.crontab.hour) == ("1", "5")
    from config.celery_app import app

    app.loader.import_default_modules()
    assert task.task in app.tasks


def test_request_form_offers_today_as_the_cutoff(client, users):
    client.force_login(users["statistician"])
    page = client.get(reverse("outcomes:report_list")).content.decode()
    assert f'value="{timezone.localdate().isoformat()}"' in page

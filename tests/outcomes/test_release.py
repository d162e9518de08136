"""A DSMB report is a draft until the statistician releases it (PROTOCOL §11;
``outcomes.release``): who may release, withdraw and record the DSMB's
recommendation; what each role sees before and after; the e-mails (on release
and withdrawal only, once); the database's own refusals; the audit trail.

Decided here: the statistician may release a report they requested
themselves (the protocol has one unblinded statistician; the record is the
check), and may still download a withdrawn report (the DSMB may not).
"""

import hashlib
import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from infrastructure.models import OutboundEmail
from outcomes.exceptions import (
    ReportAlreadyReleased,
    ReportAlreadyWithdrawn,
    ReportNotReady,
    ReportNotReleased,
    TextRequired,
)
from outcomes.models import Report, ReportDownload, ReportEvent
from outcomes.release import (
    report_recommendation_record,
    report_release,
    report_withdraw,
)
from outcomes.services import report_generate, report_request, reports_monthly_request
from perform import roles
from tests.factories import UserFactory, user_with_role
from tests.outcomes.conftest import CUTOFF

NOTE = "Released for the DSMB meeting of 12 March."
REASON = "Wrong data cut-off: the site HAM visits of June were missing."
FILES = ("report_detail", "report_status", "report_pdf", "report_json")


@pytest.fixture
def reports_root(settings, tmp_path):
    settings.REPORTS_ROOT = str(tmp_path)
    return tmp_path


def ready(root, kind="closed", **fields) -> Report:
    """A ready report with small files (the build is tested elsewhere)."""
    report = Report.objects.create(
        kind=kind, cutoff=CUTOFF, status="ready", participants=12, **fields
    )
    pdf = f"%PDF-1.4 report {report.pk}".encode()
    (root / kind).mkdir(exist_ok=True)
    (root / kind / f"{report.pk}.pdf").write_bytes(pdf)
    (root / kind / f"{report.pk}.json").write_text("{}")
    Report.objects.filter(pk=report.pk).update(
        pdf_name=f"{kind}/{report.pk}.pdf",
        json_name=f"{kind}/{report.pk}.json",
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
    )
    report.refresh_from_db()
    return report


@pytest.fixture
def draft(users, reports_root):
    return ready(reports_root, requested_by=users["statistician"])


@pytest.fixture
def released(users, draft):
    return report_release(report=draft, user=users["statistician"], note=NOTE)


def dsmb_emails(kind="dsmb_report"):
    return OutboundEmail.objects.filter(kind=kind)


def status_of(client, user, name, report) -> int:
    client.force_login(user)
    return client.get(reverse(f"outcomes:{name}", args=[report.pk])).status_code


def page(client, user, name="report_list", *args) -> str:
    client.force_login(user)
    return client.get(reverse(f"outcomes:{name}", args=args)).content.decode()


# --- drafts -------------------------------------------------------------------


def test_built_reports_even_of_the_monthly_schedule_are_drafts_nobody_is_told_of(
    trial, users, reports_root
):
    requested = report_request(actor=users["statistician"], kind="open", cutoff=CUTOFF)
    report_generate(report_id=requested.pk)
    monthly = reports_monthly_request(today=CUTOFF.replace(day=1, month=7))
    assert {(r.kind, r.requested_by) for r in monthly} == {
        ("open", None),
        ("closed", None),
    }
    report_generate(report_id=monthly[0].pk)
    for report in (requested, monthly[0]):
        report.refresh_from_db()
        assert report.is_draft and (report.released_at, report.released_by) == (
            None,
            None,
        )
    assert not OutboundEmail.objects.exists()


@pytest.mark.parametrize("kind", ["open", "closed"])
def test_a_draft_is_seen_by_the_statistician_only(client, users, reports_root, kind):
    report = ready(reports_root, kind)
    for role in ("dsmb", "datamanager", "coordinator", "randomizer", "owner"):
        listing = page(client, users[role])
        assert f'data-report="{report.pk}"' not in listing, role
        assert "Draft" not in listing
        for name in FILES:
            assert status_of(client, users[role], name, report) == 404, (role, name)
    assert not ReportDownload.objects.exists()

    listing = page(client, users["statistician"])
    row = listing.split(f'data-report="{report.pk}"')[1].split("</tr>")[0]
    assert 'data-release="draft"' in listing and "Draft" in row
    detail = page(client, users["statistician"], "report_detail", report.pk)
    assert 'data-state="draft"' in detail
    assert 'id="report-release-form"' in detail
    assert 'id="report-withdraw-form"' not in detail
    assert status_of(client, users["statistician"], "report_pdf", report) == 200


# --- who may decide -----------------------------------------------------------

OTHERS = ["dsmb", "datamanager", "coordinator", "investigator", "randomizer"]


@pytest.mark.parametrize("role", [*OTHERS, "admin", "owner"])
def test_only_the_statistician_may_release_withdraw_or_record(
    client, users, draft, role
):
    user = users[role]
    for service, text in (
        (report_release, {"note": NOTE}),
        (report_withdraw, {"reason": REASON}),
        (report_recommendation_record, {"text": "Continue"}),
    ):
        with pytest.raises(PermissionDenied):
            service(report=draft, user=user, **text)
    client.force_login(user)
    for name, data in (
        ("report_release", {"note": NOTE}),
        ("report_withdraw", {"reason": REASON}),
        ("report_recommendation", {"recommendation": "Continue"}),
    ):
        response = client.post(reverse(f"outcomes:{name}", args=[draft.pk]), data)
        assert response.status_code == 403, name
    draft.refresh_from_db()
    assert draft.is_draft and not OutboundEmail.objects.exists()


def test_the_statistician_may_release_a_report_they_requested(users, draft):
    assert draft.requested_by == users["statistician"]
    report = report_release(report=draft, user=users["statistician"], note=NOTE)
    assert (report.released_by, report.release_note) == (users["statistician"], NOTE)
    assert report.is_released and not report.is_draft


def test_an_inactive_statistician_may_not_release(users, draft):
    users["statistician"].is_active = False
    users["statistician"].save()
    with pytest.raises(PermissionDenied):
        report_release(report=draft, user=users["statistician"], note=NOTE)


# --- e-mails ------------------------------------------------------------------


def test_release_emails_each_active_dsmb_member_once_with_the_note_and_a_link(
    users, draft
):
    user_with_role(roles.DSMB_MEMBER, username="dsmb2")
    UserFactory(username="gone", role=roles.DSMB_MEMBER, is_active=False)
    UserFactory(username="noaddress", role=roles.DSMB_MEMBER, email="")
    report_release(report=draft, user=users["statistician"], note=NOTE)
    emails = list(dsmb_emails())
    assert sorted(e.to[0] for e in emails) == ["dsmb2@example.org", "dsmb@example.org"]
    for email in emails:
        assert email.key.startswith(f"report-released:{draft.pk}:")
        assert reverse("outcomes:report_detail", args=[draft.pk]) in email.body_text
        assert NOTE in email.body_text and "%PDF" not in email.body_text
        assert "released" in email.subject and str(CUTOFF) in email.subject


def test_release_submitted_twice_releases_once_and_emails_once(client, users, draft):
    client.force_login(users["statistician"])
    url = reverse("outcomes:report_release", args=[draft.pk])
    first = client.post(url, {"note": NOTE})
    assert first["Location"] == reverse("outcomes:report_detail", args=[draft.pk])
    second = client.post(url, {"note": "Again"})
    assert second.status_code == 409
    assert "already released" in second.content.decode()
    draft.refresh_from_db()
    assert draft.release_note == NOTE
    assert dsmb_emails().count() == 1
    with pytest.raises(ReportAlreadyReleased):
        report_release(report=draft, user=users["statistician"], note=NOTE)
    assert dsmb_emails().count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_releases_release_once_and_email_once(users, reports_root):
    """Two requests at once (real threads and connections): the row lock makes
    the second wait and find the report released."""
    user_with_role(roles.DSMB_MEMBER, username="dsmb2")
    report = ready(reports_root)
    barrier = threading.Barrier(2)
    outcomes = []

    def release():
        try:
            barrier.wait()
            report_release(report=report, user=users["statistician"], note=NOTE)
            outcomes.append("released")
        except ReportAlreadyReleased:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=release) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "released"]
    assert dsmb_emails().count() == 2
    assert (
        ReportEvent.objects.filter(pgh_obj_id=report.pk)
        .exclude(released_at=None)
        .count()
        == 1
    )


def test_withdrawal_emails_the_dsmb_the_reason(users, released):
    report_withdraw(report=released, user=users["statistician"], reason=REASON)
    (email,) = dsmb_emails("dsmb_report_withdrawn")
    assert email.to == [users["dsmb"].email]
    assert email.key == f"report-withdrawn:{released.pk}:{users['dsmb'].pk}"
    assert REASON in email.body_text and "withdrawn" in email.subject
    assert dsmb_emails().count() == 1  # the release's, not another


def test_recording_a_recommendation_emails_nobody(users, released):
    report_recommendation_record(
        report=released, user=users["statistician"], text="Continue unchanged."
    )
    assert OutboundEmail.objects.count() == 1  # the release's


# --- refusals -----------------------------------------------------------------


@pytest.mark.parametrize("status", ["queued", "running", "failed"])
def test_only_a_ready_report_can_be_released(users, db, status):
    report = Report.objects.create(kind="closed", cutoff=CUTOFF, status=status)
    with pytest.raises(ReportNotReady, match="only a ready report"):
        report_release(report=report, user=users["statistician"], note=NOTE)


@pytest.mark.parametrize("text", ["", "   \n "])
def test_note_reason_and_recommendation_cannot_be_empty(
    users, reports_root, released, text
):
    statistician = users["statistician"]
    other = ready(reports_root, "open")
    with pytest.raises(TextRequired) as refused:
        report_release(report=other, user=statistician, note=text)
    assert refused.value.field == "note"
    with pytest.raises(TextRequired) as refused:
        report_withdraw(report=released, user=statistician, reason=text)
    assert refused.value.field == "reason"
    with pytest.raises(TextRequired) as refused:
        report_recommendation_record(report=released, user=statistician, text=text)
    assert refused.value.field == "recommendation"
    other.refresh_from_db()
    released.refresh_from_db()
    assert other.is_draft and released.is_released
    assert not released.dsmb_recommendation


def test_a_draft_cannot_be_withdrawn_or_given_a_recommendation(users, draft):
    with pytest.raises(ReportNotReleased):
        report_withdraw(report=draft, user=users["statistician"], reason=REASON)
    with pytest.raises(ReportNotReleased):
        report_recommendation_record(
            report=draft, user=users["statistician"], text="Continue"
        )


def test_a_withdrawn_report_cannot_be_withdrawn_again_nor_given_a_recommendation(
    users, released
):
    statistician = users["statistician"]
    report_withdraw(report=released, user=statistician, reason=REASON)
    with pytest.raises(ReportAlreadyWithdrawn, match="Wrong data cut-off"):
        report_withdraw(report=released, user=statistician, reason="Again")
    with pytest.raises(ReportAlreadyWithdrawn):
        report_recommendation_record(report=released, user=statistician, text="Stop")
    with pytest.raises(ReportAlreadyReleased):
        report_release(report=released, user=statistician, note=NOTE)
    released.refresh_from_db()
    assert released.withdrawal_reason == REASON


@pytest.mark.parametrize(
    "fields",
    [
        {"withdrawn_at": "now", "withdrawal_reason": "x"},  # never released
        {"released_at": "now", "release_note": "x"},  # by nobody
        {"released_at": "now", "released_by": "statistician", "release_note": " "},
        {"release_note": "x"},  # a note without a release
        {"recommendation_recorded_at": "now", "dsmb_recommendation": "x"},
    ],
)
def test_the_database_refuses_an_inconsistent_release(users, draft, fields):
    values = {
        name: timezone.now()
        if value == "now"
        else users[value]
        if value == "statistician"
        else value
        for name, value in fields.items()
    }
    if "withdrawn_at" in values:
        values["withdrawn_by"] = users["statistician"]
    if "recommendation_recorded_at" in values:
        values["recommendation_recorded_by"] = users["statistician"]
    with pytest.raises(IntegrityError), transaction.atomic():
        Report.objects.filter(pk=draft.pk).update(**values)


def test_the_database_refuses_to_release_a_report_not_ready(users, db):
    report = Report.objects.create(kind="open", cutoff=CUTOFF)
    with pytest.raises(IntegrityError), transaction.atomic():
        Report.objects.filter(pk=report.pk).update(
            released_at=timezone.now(),
            released_by=users["statistician"],
            release_note=NOTE,
        )


# --- after release ------------------------------------------------------------


def test_once_released_the_dsmb_lists_reads_and_downloads_it(client, users, released):
    listing = page(client, users["dsmb"])
    row = listing.split(f'data-report="{released.pk}"')[1].split("</tr>")[0]
    assert "Released" in row and "statistician" in row and "Download PDF" in row
    for name in FILES:
        assert status_of(client, users["dsmb"], name, released) == 200, name
    detail = page(client, users["dsmb"], "report_detail", released.pk)
    assert NOTE in detail and 'data-state="released"' in detail
    assert "report-release-form" not in detail and "report-withdraw-form" not in detail
    assert [(d.user, d.format) for d in ReportDownload.objects.all()] == [
        (users["dsmb"], "json"),
        (users["dsmb"], "pdf"),
    ]


def test_open_reports_follow_the_same_rule_for_data_managers(
    client, users, reports_root
):
    report = ready(reports_root, "open")
    assert status_of(client, users["datamanager"], "report_pdf", report) == 404
    report_release(report=report, user=users["statistician"], note=NOTE)
    assert status_of(client, users["datamanager"], "report_pdf", report) == 200
    report_withdraw(report=report, user=users["statistician"], reason=REASON)
    assert status_of(client, users["datamanager"], "report_pdf", report) == 404
    assert f"Withdrawn: {REASON}" in page(client, users["datamanager"])


def test_a_withdrawn_report_is_listed_marked_and_not_downloadable_and_its_log_stays(
    client, users, released
):
    assert status_of(client, users["dsmb"], "report_pdf", released) == 200
    report_withdraw(report=released, user=users["statistician"], reason=REASON)

    listing = page(client, users["dsmb"])
    row = listing.split(f'data-report="{released.pk}"')[1].split("</tr>")[0]
    assert f"Withdrawn: {REASON}" in row and "Download PDF" not in row
    detail = page(client, users["dsmb"], "report_detail", released.pk)
    assert 'data-state="withdrawn"' in detail and REASON in detail
    assert 'id="report-ready" class="d-flex flex-wrap gap-2 d-none"' in detail
    for name in ("report_pdf", "report_json"):
        assert status_of(client, users["dsmb"], name, released) == 404
    client.force_login(users["dsmb"])
    status = client.get(reverse("outcomes:report_status", args=[released.pk])).json()
    assert status["pdf_url"] == ""

    (download,) = ReportDownload.objects.all()
    assert (download.user, download.report, download.format) == (
        users["dsmb"],
        released,
        "pdf",
    )
    log = page(client, users["statistician"], "download_log")
    assert f'data-user="dsmb" data-report="{released.pk}"' in log
    # The statistician may still open what was withdrawn.
    assert status_of(client, users["statistician"], "report_pdf", released) == 200


# --- the pages ----------------------------------------------------------------


def test_the_statistician_releases_through_the_page_and_an_empty_note_is_refused(
    client, users, draft
):
    client.force_login(users["statistician"])
    url = reverse("outcomes:report_release", args=[draft.pk])
    refused = client.post(url, {"note": "  "})
    assert refused.status_code == 200
    text = refused.content.decode()
    summary = text.split('id="error-summary"')[1].split("</div>")[0]
    assert "Write a release note for the DSMB." in summary
    assert 'href="#id_note"' in summary
    assert text.count("Write a release note for the DSMB.") == 2  # summary, field
    draft.refresh_from_db()
    assert draft.is_draft and not OutboundEmail.objects.exists()

    done = client.post(url, {"note": NOTE}, follow=True)
    text = done.content.decode()
    assert "Report released" in text and 'data-state="released"' in text
    assert 'id="report-withdraw-form"' in text
    assert 'id="report-recommendation-form"' in text
    assert 'data-confirm="Release' not in text  # the release form is gone


def test_withdraw_and_recommendation_through_the_page(client, users, released):
    client.force_login(users["statistician"])
    withdraw = reverse("outcomes:report_withdraw", args=[released.pk])
    refused = client.post(withdraw, {"reason": ""})
    assert "Give the reason for withdrawing the report." in refused.content.decode()

    recommend = reverse("outcomes:report_recommendation", args=[released.pk])
    client.post(recommend, {"recommendation": "Continue the trial unchanged."})
    client.post(recommend, {"recommendation": "Continue; review SAEs in May."})
    released.refresh_from_db()
    assert released.dsmb_recommendation == "Continue; review SAEs in May."
    assert released.recommendation_recorded_by == users["statistician"]

    done = client.post(withdraw, {"reason": REASON}, follow=True)
    text = done.content.decode()
    assert "Report withdrawn" in text and f"Withdrawn: {REASON}" in text
    assert "report-withdraw-form" not in text
    assert "report-recommendation-form" not in text
    late = client.post(recommend, {"recommendation": "Stop"})
    assert late.status_code == 409 and "withdrawn" in late.content.decode()


def test_the_recommendation_is_shown_to_the_unblinded_roles_only(
    client, users, reports_root
):
    report = ready(reports_root, "open")
    report_release(report=report, user=users["statistician"], note=NOTE)
    report_recommendation_record(
        report=report, user=users["statistician"], text="Continue unchanged."
    )
    for role in ("dsmb", "statistician"):
        assert "Continue unchanged." in page(
            client, users[role], "report_detail", report.pk
        )
    detail = page(client, users["datamanager"], "report_detail", report.pk)
    assert NOTE in detail and "Continue unchanged." not in detail


def test_decisions_need_a_post_with_a_csrf_token(users, draft):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["statistician"])
    url = reverse("outcomes:report_release", args=[draft.pk])
    assert client.get(url).status_code == 405
    assert client.post(url, {"note": NOTE}).status_code == 403
    draft.refresh_from_db()
    assert draft.is_draft


# --- the record ---------------------------------------------------------------


def test_release_withdrawal_and_recommendation_are_audited_with_who_and_why(
    users, released
):
    statistician = users["statistician"]
    report_recommendation_record(report=released, user=statistician, text="Go on.")
    report_withdraw(report=released, user=statistician, reason=REASON)
    events = ReportEvent.objects.filter(pgh_obj_id=released.pk).order_by("pgh_id")
    changes = [
        (e.pgh_label, e.pgh_context.metadata.get("username"), e.pgh_context.metadata)
        for e in events
        if e.pgh_context is not None
    ]
    reasons = [metadata.get("reason") for _label, _user, metadata in changes]
    assert [user for _label, user, _m in changes] == ["statistician"] * 3
    assert reasons == [NOTE, "DSMB recommendation recorded", REASON]
    last = events.last()
    assert (last.withdrawn_by_id, last.withdrawal_reason) == (statistician.pk, REASON)


def test_earlier_looks_are_the_released_closed_reports_not_withdrawn(
    users, reports_root
):
    """The query the PDF builder uses to list earlier looks."""
    statistician = users["statistician"]
    kept, dropped, draft_one = (ready(reports_root) for _ in range(3))
    for report in (kept, dropped):
        report_release(report=report, user=statistician, note=NOTE)
    report_withdraw(report=dropped, user=statistician, reason=REASON)
    report_recommendation_record(report=kept, user=statistician, text="Continue.")
    later = CUTOFF.replace(year=CUTOFF.year + 1)
    looks = Report.objects.filter(
        kind="closed",
        released_at__isnull=False,
        withdrawn_at__isnull=True,
        cutoff__lt=later,
    )
    assert list(looks.values_list("pk", "dsmb_recommendation")) == [
        (kept.pk, "Continue.")
    ]
    assert draft_one.pk not in {r.pk for r in looks}

"""Audit pages (issue 15): a participant's audit trail and one form's, with
records named in words, field labels, old → new as the form shows values, the
user, site-local time with its zone and the reason; filters, pages, a CSV
export safe against formula injection, site scope and constant query counts."""

import csv
import datetime
import io
import re
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crf.models import FollowUp, FormStatus, Operative
from infrastructure.pagination import PAGE_SIZE
from perform.models import EligibilityCriterion
from tests.crf import bulk
from tests.crf.forms import test_views
from tests.crf.forms.test_views import COMPLETE, entry_url

randomized = test_views.randomized  # the fixture: randomized 50 days ago
TORONTO = ZoneInfo("America/Toronto")


@pytest.fixture
def operative_url(client, users, randomized):
    client.force_login(users["coordinator"])
    url = entry_url(randomized, "operative")
    response = client.post(url, {**COMPLETE["operative"], "save_complete": "1"})
    assert response.status_code == 302
    return url


def change(client, url, *, version, reason, **fields):
    response = client.post(
        url,
        {
            **COMPLETE["operative"],
            **fields,
            "based_on_version": version,
            "reason": reason,
            "save_complete": "1",
        },
    )
    assert response.status_code == 302, response.context["form"].errors


def history_url(participant):
    return reverse("crf:single_history", args=[participant.study_id, "operative"])


def audit_url(participant):
    return reverse("participant_audit", args=[participant.study_id])


def updates(response):
    return [entry for entry in response.context["page"] if entry.action == "update"]


def csv_rows(response) -> list[dict]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))


@pytest.fixture
def two_changes(client, users, randomized, operative_url):
    """The operative form changed by the coordinator, then the investigator."""
    change(
        client,
        operative_url,
        version=1,
        reason="Anaesthetic chart re-read",
        blood_loss_ml="650",
        procedure="RER",
    )
    client.force_login(users["investigator"])
    change(
        client,
        operative_url,
        version=2,
        reason="Theatre log: longer operation",
        blood_loss_ml="650",
        procedure="RER",
        duration_min="120",
    )
    return randomized


@pytest.mark.django_db
def test_form_history_shows_labels_choice_labels_user_reason_and_local_time(
    client, users, two_changes
):
    response = client.get(history_url(two_changes))
    assert response.status_code == 200
    shown = [
        (
            e.username,
            e.reason,
            [(c.label, c.old, c.new) for c in e.changes if c.name != "completed_at"],
        )
        for e in updates(response)
    ]
    assert shown == [  # newest first
        (
            "investigator",
            "Theatre log: longer operation",
            [("Duration (min)", "95", "120")],
        ),
        (
            "coordinator",
            "Anaesthetic chart re-read",
            [
                (
                    "Procedure",
                    "Internal fixation",
                    "Resection with endoprosthetic reconstruction",
                ),
                ("Blood loss (mL)", "400", "650"),
            ],
        ),
    ]
    content = response.content.decode()
    assert (
        '<span class="audit-field">Blood loss (mL)</span>: '
        '<span class="audit-old">400</span> → <span class="audit-new">650</span>'
    ) in content
    # Stored names and codes are not what the reader sees.
    assert ">blood_loss_ml<" not in content
    assert ">RER<" not in content
    # The time in the site's zone, to the second, with the zone named.
    at = timezone.localtime(updates(response)[0].at, TORONTO)
    assert at.strftime("%Y-%m-%d %H:%M:%S ") + at.tzname() in content
    assert "America/Toronto" in content
    # Bookkeeping columns (version, updated by/at) are left out.
    names = {c.name for e in response.context["page"] for c in e.changes}
    assert not names & {"version", "updated_at", "updated_by_id", "id"}


@pytest.mark.django_db
def test_participant_audit_names_records_in_words(client, users, two_changes):
    participant = two_changes
    client.force_login(users["coordinator"])
    follow_up = entry_url(participant, "follow-up")
    response = client.post(follow_up, {**COMPLETE["follow-up"], "save_draft": "1"})
    assert response.status_code == 302
    response = client.get(audit_url(participant))
    assert response.status_code == 200
    records = {e.record for e in response.context["page"]}
    criterion = EligibilityCriterion.objects.filter(is_active=True).first()
    assert {
        "Screening",
        "Consent",
        "Status change",
        "Operative",
        "Follow-up visit: 6 weeks",
        f"Eligibility: {criterion.text}",
    } <= records
    content = response.content.decode()
    assert not re.search(r">[^<]*EligibilityAnswer", content)  # no text shows it
    assert "Follow-up visit: 6 weeks" in content
    # The allocation slot (arm, list internals) is never listed.
    assert not [e for e in response.context["page"] if e.kind == "randomization.Slot"]


@pytest.mark.django_db
def test_filters_by_record_type_user_and_site_dates(client, users, two_changes):
    participant = two_changes
    client.force_login(users["datamanager"])
    url = audit_url(participant)

    operative = client.get(url, {"kind": "crf.Operative"}).context["page"]
    assert {e.kind for e in operative} == {"crf.Operative"}
    assert len(operative) == 3  # created, then two changes

    by_investigator = client.get(url, {"user": users["investigator"].pk})
    assert [e.reason for e in by_investigator.context["page"]] == [
        "Theatre log: longer operation"
    ]

    today = timezone.localtime(timezone.now(), TORONTO).date()
    everything = client.get(url).context["page"].paginator.count
    same_day = client.get(
        url, {"date_from": today.isoformat(), "date_to": today.isoformat()}
    )
    assert same_day.context["page"].paginator.count == everything
    tomorrow = (today + datetime.timedelta(days=1)).isoformat()
    later = client.get(url, {"date_from": tomorrow})
    assert later.context["page"].paginator.count == 0
    assert "No changes recorded that match the filters." in later.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date_from": "2025-13-01"}, "Enter a date as YYYY-MM-DD."),
        ({"date_to": "99999-01-01"}, "Enter a date as YYYY-MM-DD."),
        ({"date_to": "0001-01-01"}, "Enter a date between 1900 and 2999."),
        (
            {"date_from": "2025-03-02", "date_to": "2025-03-01"},
            "The &#x27;from&#x27; date (2025-03-02) is after the &#x27;to&#x27; date",
        ),
        ({"kind": "randomization.Slot"}, "Select a valid choice."),
        ({"user": "not-a-user"}, "Select a valid choice."),
    ],
)
def test_bad_filters_give_a_message_and_no_entries(
    client, users, randomized, params, message
):
    client.force_login(users["coordinator"])
    for fmt in ({}, {"format": "csv"}):
        response = client.get(audit_url(randomized), {**params, **fmt})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/html")
        content = response.content.decode()
        assert 'id="audit-filter-errors"' in content
        assert message in content
        assert "page" not in response.context


@pytest.mark.django_db
def test_csv_export_has_labels_iso_times_and_is_safe_against_formulas(
    client, users, randomized, operative_url
):
    change(
        client,
        operative_url,
        version=1,
        reason='=HYPERLINK("http://x","click")',
        implant="@SUM(A1:A2)",
        procedure_other="",
        transfusion_units="2",
    )
    change(client, operative_url, version=2, reason="+1 re-read", implant="-2 nail")
    response = client.get(history_url(randomized), {"format": "csv"})
    rows = csv_rows(response)
    assert list(rows[0]) == [
        "When",
        "Time zone",
        "User",
        "Record type",
        "Record",
        "Action",
        "Field",
        "Variable",
        "Old value",
        "New value",
        "Reason",
    ]
    implant = [row for row in rows if row["Variable"] == "implant"]
    assert [(r["Old value"], r["New value"], r["Reason"]) for r in implant] == [
        ("'@SUM(A1:A2)", "'-2 nail", "'+1 re-read"),
        ("Cephalomedullary nail", "'@SUM(A1:A2)", '\'=HYPERLINK("http://x","click")'),
        ("", "Cephalomedullary nail", ""),
    ]
    first = implant[1]
    assert first["Field"] == "Implant"
    assert first["Record"] == "Operative"
    assert first["Record type"] == "Operative"
    assert first["Action"] == "Changed"
    assert first["User"] == "coordinator"
    assert first["Time zone"] == "America/Toronto"
    at = datetime.datetime.fromisoformat(first["When"])
    assert at.utcoffset() == at.astimezone(TORONTO).utcoffset()
    assert at.tzinfo is not None
    # Codes are exported as their labels.
    procedure = [r for r in rows if r["Variable"] == "procedure"]
    assert procedure[0]["New value"] == "Internal fixation"


@pytest.mark.django_db
def test_participant_csv_is_filtered_like_the_page(client, users, two_changes):
    client.force_login(users["coordinator"])
    response = client.get(
        audit_url(two_changes), {"kind": "crf.Operative", "format": "csv"}
    )
    rows = csv_rows(response)
    assert rows and {row["Record type"] for row in rows} == {"Operative"}
    assert {row["User"] for row in rows} == {"coordinator", "investigator"}


@pytest.mark.django_db
def test_audit_pages_and_csv_are_scoped_to_the_users_sites(client, users, two_changes):
    urls = [audit_url(two_changes), history_url(two_changes)]
    for url in urls:
        for fmt in ({}, {"format": "csv"}):
            client.force_login(users["coordinator2"])
            assert client.get(url, fmt).status_code == 404
            client.force_login(users["dsmb"])
            assert client.get(url, fmt).status_code == 403


@pytest.mark.django_db
def test_participant_page_shows_recent_changes_and_links_the_full_trail(
    client, users, two_changes
):
    participant = two_changes
    client.force_login(users["coordinator"])
    page = client.get(reverse("participant_detail", args=[participant.study_id]))
    full = client.get(audit_url(participant))
    recent = page.context["recent_changes"]
    assert len(recent) == 5
    assert recent == list(full.context["page"])[:5]
    content = page.content.decode()
    assert content.count('class="audit-entry"') == 5
    assert f'href="{audit_url(participant)}"' in content
    assert full.context["page"].paginator.count > 20


@pytest.mark.django_db
def test_audit_page_is_paged_newest_first(client, users, randomized):
    actor = users["coordinator"]
    form = Operative.objects.create(
        **bulk.form_kwargs(randomized, actor, status=FormStatus.DRAFT)
    )
    for minutes in range(PAGE_SIZE + 5):
        Operative.objects.filter(pk=form.pk).update(duration_min=20 + minutes)
    client.force_login(actor)
    first = client.get(audit_url(randomized), {"kind": "crf.Operative"})
    page = first.context["page"]
    assert page.paginator.count == PAGE_SIZE + 6
    assert len(page) == PAGE_SIZE
    assert page[0].changes[0].new == str(20 + PAGE_SIZE + 4)  # the latest
    second = client.get(audit_url(randomized), {"kind": "crf.Operative", "page": 2})
    assert [e.action for e in second.context["page"]][-1] == "insert"


def query_count(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def follow_ups_add(participants, actor, visits=("2w", "6w", "3m")):
    FollowUp.objects.bulk_create(
        FollowUp(**bulk.form_kwargs(p, actor, visit=visit, vital_status="alive"))
        for p in participants
        for visit in visits
    )


@pytest.mark.django_db
def test_audit_page_queries_do_not_grow_with_participants_or_changes(
    client, users, site_a, randomized, operative_url
):
    actor = users["coordinator"]
    others = bulk.participants_add(site_a, 10, actor=actor)
    follow_ups_add(others, actor)
    client.force_login(users["datamanager"])
    urls = [audit_url(randomized), history_url(randomized)]
    client.get(urls[0])  # warm the caches every page shares (session, roles)
    few = [query_count(client, url) for url in urls]

    more = bulk.participants_add(site_a, 190, actor=actor)
    follow_ups_add(more, actor)
    client.force_login(users["investigator"])
    for version, loss in enumerate(range(500, 1000, 100), start=1):
        change(
            client, operative_url, version=version, reason="re-read", blood_loss_ml=loss
        )
    follow_ups_add([randomized], actor, visits=("6w", "3m", "6m"))
    client.force_login(users["datamanager"])
    client.get(urls[0])
    many = [query_count(client, url) for url in urls]
    assert many == few
    assert Operative.objects.get(participant=randomized).version == 6


@pytest.mark.django_db
def test_missing_data_codes_show_by_field_label_and_an_empty_set_not_at_all(
    client, users, randomized, operative_url
):
    change(
        client,
        operative_url,
        version=1,
        reason="Transfusion chart lost",
        transfusion_units="",
        missing__transfusion_units="UNK",
    )
    response = client.get(history_url(randomized))
    (update,) = updates(response)
    shown = {c.name: (c.label, c.old, c.new) for c in update.changes}
    assert shown["missing_codes"] == (
        "Missing codes",
        None,
        "Transfusion (units): UNK",
    )
    assert shown["transfusion_units"] == ("Transfusion (units)", "1", None)
    created = [e for e in response.context["page"] if e.action == "insert"]
    assert created and all(c.name != "missing_codes" for c in created[0].changes)
    assert "{}" not in response.content.decode()

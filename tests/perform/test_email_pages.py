"""E-mail pages: a user's reminder opt-out (audited), the Methods Centre's
e-mail log (who may see it, counts, filter, failures shown), and the safety
alerts and visit reminders listed on the participant page."""

import datetime
import re

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pghistory.models import Events

from crf.forms import services as crf_services
from crf.models import AdverseEvent, Death, VisitReminder
from infrastructure.models import OutboundEmail
from perform import services
from perform.models import User
from tests import clock
from tests.crf.bulk import participants_add

DAY = datetime.timedelta(days=1)
SETTINGS_URL = "/account/notifications/"
LOG_URL = "/emails/"


def tag(content: str, name: str) -> str:
    """The opening tag of the input named ``name``."""
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', content)
    assert match, f"no input {name}"
    return match.group(0)


def rows(content: str, table_id: str) -> list[dict[str, str]]:
    """Attributes of each body row of the table with id ``table_id``."""
    match = re.search(
        rf'<table[^>]*id="{table_id}"[^>]*>.*?<tbody>(.*?)</tbody>', content, re.S
    )
    assert match, f"no table #{table_id}"
    return [
        dict(re.findall(r'([\w-]+)="([^"]*)"', attrs))
        for attrs in re.findall(r"<tr([^>]*)>", match.group(1))
    ]


def element_text(content: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', content, re.S)
    assert match, f"no #{element_id}"
    return match.group(1)


def outbox_row(key, *, status="sent", kind="visit_digest", **fields) -> OutboundEmail:
    now = timezone.now()
    return OutboundEmail.objects.create(
        key=key,
        kind=kind,
        to=fields.pop("to", ["coordinator@example.org"]),
        subject=fields.pop("subject", f"Subject {key}"),
        body_text="Body",
        message_id=f"<{key}@perform.test>",
        status=status,
        attempts=fields.pop("attempts", 1),
        sent_at=now if status == "sent" else None,
        next_attempt_at=now if status == "pending" else None,
        **fields,
    )


# ---------------------------------------------------------------------------
# Notification settings
# ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_reminder_digest_is_ticked_by_default(client, users):
    client.force_login(users["coordinator"])
    response = client.get(SETTINGS_URL)
    assert response.status_code == 200
    assert re.search(
        r"\schecked\b", tag(response.content.decode(), "receives_visit_reminders")
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [{"save": "Save"}, {}],
    ids=["with-submit-button", "checkbox-only"],
)
def test_unticking_opts_out_with_a_message_and_an_audit_event(client, users, data):
    user = users["coordinator"]
    client.force_login(user)
    response = client.post(SETTINGS_URL, data)
    assert response.status_code == 302
    assert response.url == SETTINGS_URL
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "You will no longer receive the visit reminder digest."
    ]
    user.refresh_from_db()
    assert user.receives_visit_reminders is False

    event = Events.objects.tracks(user).filter(pgh_label="update").get()
    assert event.pgh_diff == {"receives_visit_reminders": [True, False]}
    assert event.pgh_context["username"] == "coordinator"
    assert event.pgh_context["user"] == user.pk
    assert event.pgh_context["url"] == SETTINGS_URL

    page = client.get(SETTINGS_URL).content.decode()
    assert not re.search(r"\schecked\b", tag(page, "receives_visit_reminders"))


@pytest.mark.django_db
def test_ticking_opts_back_in(client, users):
    user = users["investigator"]
    user.receives_visit_reminders = False
    user.save()
    client.force_login(user)
    response = client.post(
        SETTINGS_URL, {"receives_visit_reminders": "on", "save": "Save"}, follow=True
    )
    assert "You will receive the visit reminder digest." in response.content.decode()
    user.refresh_from_db()
    assert user.receives_visit_reminders is True
    last = Events.objects.tracks(user).filter(pgh_label="update").latest("pgh_id")
    assert last.pgh_diff == {"receives_visit_reminders": [False, True]}
    assert last.pgh_context["username"] == "investigator"


@pytest.mark.django_db
def test_the_opt_out_service_records_the_acting_user_outside_a_request(users):
    user = services.user_notifications_set(
        actor=users["statistician"], receives_visit_reminders=False
    )
    assert User.objects.get(pk=user.pk).receives_visit_reminders is False
    event = Events.objects.tracks(user).filter(pgh_label="update").get()
    assert event.pgh_diff == {"receives_visit_reminders": [True, False]}
    assert event.pgh_context["username"] == "statistician"


@pytest.mark.django_db
def test_a_user_changes_only_their_own_setting(client, users):
    client.force_login(users["coordinator"])
    client.post(SETTINGS_URL, {"save": "Save"})
    assert set(
        User.objects.filter(receives_visit_reminders=False).values_list(
            "username", flat=True
        )
    ) == {"coordinator"}


@pytest.mark.django_db
def test_the_safety_contact_note_says_whether_you_are_one(client, users):
    client.force_login(users["coordinator"])
    note = element_text(
        client.get(SETTINGS_URL).content.decode(), "safety-contact-note"
    )
    assert "You are a safety contact" not in note
    assert "cannot be switched off" in note

    users["datamanager"].safety_contact = True
    users["datamanager"].save()
    client.force_login(users["datamanager"])
    note = element_text(
        client.get(SETTINGS_URL).content.decode(), "safety-contact-note"
    )
    assert "You are a safety contact" in note


@pytest.mark.django_db
def test_the_settings_page_needs_a_login(client, users):
    response = client.get(SETTINGS_URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# ---------------------------------------------------------------------------
# E-mail log
# ---------------------------------------------------------------------------
@pytest.fixture
def outbox_rows(db):
    rows = {
        "sent": [outbox_row(f"sent:{n}") for n in range(3)],
        "pending": [outbox_row(f"pending:{n}", status="pending") for n in range(2)],
        "failed": [
            outbox_row(
                "failed:0",
                status="failed",
                kind="safety_alert",
                attempts=15,
                last_error="SMTPServerDisconnected: Connection unexpectedly closed",
            )
        ],
        "cancelled": [outbox_row("cancelled:0", status="cancelled")],
    }
    return rows


@pytest.mark.django_db
def test_the_data_manager_sees_every_email_with_status_counts(
    client, users, outbox_rows
):
    client.force_login(users["datamanager"])
    response = client.get(LOG_URL)
    assert response.status_code == 200
    content = response.content.decode()
    counts = dict(re.findall(r'data-count="(\w+)"[^>]*>(\d+)<', content))
    assert counts == {"pending": "2", "sent": "3", "failed": "1", "cancelled": "1"}
    listed = rows(content, "email-table")
    assert sorted(r["data-status"] for r in listed) == sorted(
        ["sent"] * 3 + ["pending"] * 2 + ["failed", "cancelled"]
    )
    assert "Subject sent:0" in content
    assert "SMTPServerDisconnected: Connection unexpectedly closed" in content


@pytest.mark.django_db
def test_failed_emails_are_highlighted(client, users, outbox_rows):
    client.force_login(users["datamanager"])
    listed = rows(client.get(LOG_URL).content.decode(), "email-table")
    highlighted = {
        r["data-status"] for r in listed if "table-danger" in r.get("class", "")
    }
    assert highlighted == {"failed"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "statuses"),
    [
        ({"status": "failed"}, ["failed"]),
        ({"status": "pending"}, ["pending", "pending"]),
        ({"kind": "safety_alert"}, ["failed"]),
        ({"status": "sent", "kind": "safety_alert"}, []),
    ],
)
def test_the_log_filters_by_status_and_kind(
    client, users, outbox_rows, params, statuses
):
    client.force_login(users["datamanager"])
    content = client.get(LOG_URL, params).content.decode()
    listed = [r for r in rows(content, "email-table") if "data-status" in r]
    assert [r["data-status"] for r in listed] == statuses
    # The counts stay those of the whole outbox.
    assert dict(re.findall(r'data-count="(\w+)"[^>]*>(\d+)<', content))["sent"] == "3"


@pytest.mark.django_db
def test_the_log_pages_keep_the_filter(client, users):
    OutboundEmail.objects.bulk_create(
        OutboundEmail(
            key=f"k{n}",
            kind="visit_digest",
            to=["a@example.org"],
            subject=f"S{n}",
            body_text="B",
            message_id=f"<k{n}@t>",
            status="sent",
        )
        for n in range(55)
    )
    client.force_login(users["datamanager"])
    first = client.get(LOG_URL, {"status": "sent"}).content.decode()
    assert len(rows(first, "email-table")) == 50
    assert 'href="?status=sent&amp;page=2"' in first
    second = client.get(LOG_URL, {"status": "sent", "page": 2}).content.decode()
    assert len(rows(second, "email-table")) == 5


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role", ["coordinator", "investigator", "statistician", "dsmb", "randomizer"]
)
def test_only_the_methods_centre_data_manager_sees_the_log(
    client, users, outbox_rows, role
):
    client.force_login(users[role])
    assert client.get(LOG_URL).status_code == 403


@pytest.mark.django_db
def test_the_log_needs_a_login(client, outbox_rows):
    response = client.get(LOG_URL)
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={LOG_URL}"


# ---------------------------------------------------------------------------
# The participant page
# ---------------------------------------------------------------------------
def reminders_add(participant, recipient, count, *, email=None):
    """``count`` reminder rows for ``participant`` (one digest per day)."""
    today = clock.today()
    for n in range(count):
        digest = email or outbox_row(
            f"visit-digest:{participant.pk}:{recipient.pk}:{n}"
        )
        VisitReminder.objects.create(
            email=digest,
            digest=VisitReminder.Digest.DAILY,
            recipient=recipient,
            participant=participant,
            site=participant.site,
            visit="2w" if n % 2 else "6w",
            reason=VisitReminder.Reason.OVERDUE if n % 2 else "opening",
            for_date=today - n * DAY,
            window_start=today - 10 * DAY,
            window_end=today + 10 * DAY,
        )


@pytest.fixture
def alerted(users, site_a, screen, randomize):
    """A participant randomized a week ago (so the SAE's awareness date is not
    before screening) with an SAE and a death, each alerted."""
    actor = users["coordinator"]
    randomized = randomize(screen(actor, site_a), on=clock.today() - 7 * DAY)
    crf_services.form_save(
        actor=actor,
        form=AdverseEvent(
            participant=randomized,
            term="Pulmonary embolism",
            serious=True,
            sae_life_threatening=True,
            awareness_date=clock.today() - 5 * DAY,
        ),
        complete=False,
    )
    crf_services.form_save(
        actor=actor,
        form=Death(participant=randomized, death_date=clock.today()),
        complete=False,
    )
    return randomized


@pytest.mark.django_db
def test_the_participant_page_lists_safety_alerts_and_visit_reminders(
    client, users, alerted
):
    participant = alerted
    other = participants_add(participant.site, 1, actor=users["coordinator"])[0]
    reminders_add(participant, users["coordinator"], 2)
    reminders_add(other, users["coordinator"], 3)
    client.force_login(users["coordinator"])
    response = client.get(f"/participants/{participant.study_id}/")
    assert response.status_code == 200
    content = response.content.decode()

    alerts = rows(content, "safety-alerts")
    assert sorted(r["data-alert-kind"] for r in alerts) == ["death", "sae"]
    sae = re.search(r'<tr data-alert-kind="sae">(.*?)</tr>', content, re.S).group(1)
    death = re.search(r'<tr data-alert-kind="death">(.*?)</tr>', content, re.S)
    # The SAE was entered 5 days after awareness; the death on its day.
    assert "late report" in sae
    assert "late report" not in death.group(1)
    assert 'data-email-status="pending"' in sae
    assert "to 1 recipient<" in sae  # the site-A investigator
    assert re.search(r"\d\d:\d\d E[SD]T<", sae)  # entered, in Toronto time

    reminders = rows(content, "visit-reminders")
    assert [(r["data-visit"], r["data-reason"]) for r in reminders] == [
        ("6w", "opening"),
        ("2w", "overdue"),
    ]


@pytest.mark.django_db
def test_a_participant_without_alerts_or_reminders_says_so(client, users, randomized):
    client.force_login(users["investigator"])
    content = client.get(f"/participants/{randomized.study_id}/").content.decode()
    assert "No safety alert." in content
    assert "No reminder yet." in content
    assert [r for r in rows(content, "safety-alerts") if "data-alert-kind" in r] == []


@pytest.mark.django_db
def test_the_methods_centre_sees_the_alerts_too(client, users, alerted):
    client.force_login(users["datamanager"])
    content = client.get(f"/participants/{alerted.study_id}/").content.decode()
    assert len(rows(content, "safety-alerts")) == 2


@pytest.mark.django_db
def test_a_coordinator_at_another_site_gets_404(client, users, alerted):
    client.force_login(users["coordinator2"])
    assert client.get(f"/participants/{alerted.study_id}/").status_code == 404


@pytest.mark.django_db
def test_the_participant_page_query_count_does_not_grow_with_reminders_or_alerts(
    client, users, alerted
):
    client.force_login(users["coordinator"])
    url = f"/participants/{alerted.study_id}/"
    reminders_add(alerted, users["coordinator"], 1)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200
        return len(ctx.captured_queries), response.content.decode()

    few, _ = count()
    reminders_add(alerted, users["investigator"], 29)
    for n in range(5):
        crf_services.form_save(
            actor=users["coordinator"],
            form=AdverseEvent(
                participant=alerted,
                term=f"Event {n}",
                serious=True,
                sae_hospitalization=True,
            ),
            complete=False,
        )
    many, content = count()
    assert len(rows(content, "visit-reminders")) == 30
    assert len(rows(content, "safety-alerts")) == 7
    # The "recent changes" panel reads its five entries with one query per
    # kind of record among them: more reminders and alerts never add one (here
    # the five newest are all adverse events, one kind fewer than before).
    assert many <= few

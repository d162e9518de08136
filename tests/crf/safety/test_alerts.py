"""Expedited safety alerts (PROTOCOL §9) through the real form service: who
is alerted, once per event, what the e-mail says (and does not say), when a
report counts as late, and that an alert commits with its form or not at all.
E-mails are checked in the outbox (and sent with the locmem backend);
tests/crf/test_email_workers.py delivers them through a real worker."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone

from crf.forms import services
from crf.models import (
    AdverseEvent,
    Death,
    Operative,
    ProtocolDeviation,
    Reoperation,
    SafetyAlert,
)
from crf.safety.alerts import report_is_late, safety_recipients
from infrastructure import tasks
from infrastructure.models import OutboundEmail
from infrastructure.outbox import email_deliver
from perform import roles
from perform.models import Participant, SiteMembership
from tests.factories import UserFactory, user_with_role

DAY = datetime.timedelta(days=1)
TORONTO = ZoneInfo("America/Toronto")
SITE_URL = "https://perform.example.org"


def toronto_today() -> datetime.date:
    return timezone.localdate(timezone=TORONTO)


def serious_ae(participant, **fields) -> AdverseEvent:
    values = {
        "term": "Deep wound infection",
        "body_system": "infections",
        "onset_date": toronto_today() - DAY,
        "awareness_date": toronto_today(),
        "clavien_dindo": "IIIb",
        "serious": True,
        "sae_hospitalization": True,
        "relatedness": "probable",
        "expected": False,
        "outcome": "recovering",
    }
    values.update(fields)
    return AdverseEvent(participant=participant, **values)


def save(actor, form, *, complete=False, reason=""):
    return services.form_save(actor=actor, form=form, complete=complete, reason=reason)


def alert_of(form) -> SafetyAlert:
    return SafetyAlert.objects.select_related("email").get(form_id=form.pk)


@pytest.fixture
def safety_team(users, site_a, site_b):
    """The data manager as safety contact, plus people who must not be
    alerted for a site-A event."""
    users["datamanager"].safety_contact = True
    users["datamanager"].save()
    return {
        "investigator_b": user_with_role(
            roles.SITE_INVESTIGATOR, username="investigator_b", sites=[site_b]
        ),
        "retired_contact": UserFactory(
            username="retired",
            role=roles.DATA_MANAGER,
            safety_contact=True,
            is_active=False,
        ),
        "contact_no_email": UserFactory(
            username="noemail", role=roles.DATA_MANAGER, safety_contact=True, email=""
        ),
        "retired_investigator": UserFactory(
            username="gone",
            role=roles.SITE_INVESTIGATOR,
            sites=[site_a],
            is_active=False,
        ),
        "investigator_no_email": UserFactory(
            username="silent", role=roles.SITE_INVESTIGATOR, sites=[site_a], email=""
        ),
    }


SITE_A_RECIPIENTS = ["datamanager@example.org", "investigator@example.org"]


@pytest.fixture
def randomized(users, site_a, screen, randomize):
    """A participant at site A randomized a week ago, so the events of the last
    days keep PROTOCOL §7's dates (none before screening, death not before
    randomization)."""
    participant = screen(users["coordinator"], site_a)
    return randomize(participant, on=toronto_today() - 7 * DAY)


# ---------------------------------------------------------------------------
# Who is alerted, once per event
# ---------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("complete", [False, True], ids=["draft", "complete"])
def test_a_serious_adverse_event_alerts_the_safety_contacts_and_site_investigator(
    users, randomized, safety_team, complete
):
    ae = save(users["coordinator"], serious_ae(randomized), complete=complete)
    alert = alert_of(ae)
    assert alert.kind == SafetyAlert.Kind.SAE
    assert alert.participant == randomized
    assert alert.form == ae
    assert alert.awareness_date == toronto_today()
    assert alert.entered_at >= ae.created_at
    assert alert.late is False
    email = alert.email
    assert email.kind == "safety_alert"
    assert email.key == f"safety-alert:adverseevent:{ae.pk}"
    assert email.to == SITE_A_RECIPIENTS
    assert email.status == OutboundEmail.Status.PENDING
    assert OutboundEmail.objects.count() == 1


@pytest.mark.django_db
def test_the_alert_goes_to_the_investigators_of_the_participants_own_site(
    users, site_b, screen, randomize, safety_team
):
    coordinator = users["coordinator2"]
    participant = randomize(screen(coordinator, site_b), coordinator=coordinator)
    ae = save(users["coordinator2"], serious_ae(participant))
    assert alert_of(ae).email.to == [
        "datamanager@example.org",
        "investigator_b@example.org",
    ]


@pytest.mark.django_db
def test_safety_recipients_skip_inactive_users_and_users_without_email(
    users, site_a, site_b, safety_team
):
    assert safety_recipients(site_a.pk) == SITE_A_RECIPIENTS
    # An investigator of both sites is listed once.
    SiteMembership.objects.create(user=users["investigator"], site=site_b)
    assert safety_recipients(site_b.pk) == [
        "datamanager@example.org",
        "investigator@example.org",
        "investigator_b@example.org",
    ]


@pytest.mark.django_db
def test_editing_an_alerted_adverse_event_writes_no_second_alert(
    users, randomized, safety_team, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(tasks.outbox_send, "delay", lambda **kw: sent.append(kw))
    ae = save(users["coordinator"], serious_ae(randomized, outcome=""))
    with django_capture_on_commit_callbacks(execute=True):
        ae.outcome = "recovered"
        ae = save(users["coordinator"], ae, complete=True)
        ae.sae_life_threatening = True
        ae = save(users["coordinator"], ae, complete=True, reason="ICU admission")
        ae.serious = False  # and so no seriousness criterion (PROTOCOL §7)
        ae.sae_hospitalization = ae.sae_life_threatening = False
        ae = save(users["investigator"], ae, complete=True, reason="Re-assessed")
        ae.serious = ae.sae_hospitalization = True
        ae = save(users["investigator"], ae, complete=True, reason="Re-assessed")
    assert ae.version == 5
    assert SafetyAlert.objects.count() == 1
    assert OutboundEmail.objects.count() == 1
    assert sent == []  # nothing new queued by the edits


@pytest.mark.django_db
@pytest.mark.parametrize("serious", [False, None], ids=["not-serious", "not-known"])
def test_a_non_serious_adverse_event_alerts_when_it_is_made_serious(
    users, randomized, safety_team, serious
):
    ae = save(
        users["coordinator"],
        serious_ae(randomized, serious=serious, sae_hospitalization=False),
    )
    ae.term = "Deep wound infection, readmitted"
    ae = save(users["coordinator"], ae)
    assert not SafetyAlert.objects.exists()
    assert not OutboundEmail.objects.exists()

    ae.serious = ae.sae_hospitalization = True
    ae = save(users["coordinator"], ae)
    alert = alert_of(ae)
    assert alert.kind == SafetyAlert.Kind.SAE
    assert alert.email.to == SITE_A_RECIPIENTS
    assert SafetyAlert.objects.count() == OutboundEmail.objects.count() == 1


@pytest.mark.django_db
def test_a_death_alerts_once(users, randomized, safety_team):
    death = save(
        users["coordinator"],
        Death(participant=randomized, death_date=toronto_today() - DAY),
    )
    alert = alert_of(death)
    assert alert.kind == SafetyAlert.Kind.DEATH
    # A death form has no awareness date: the date of death stands in.
    assert alert.awareness_date == toronto_today() - DAY
    assert alert.email.key == f"safety-alert:death:{death.pk}"
    assert alert.email.to == SITE_A_RECIPIENTS
    assert alert.email.subject == (
        f"PERFORM safety: Death at TOR, {randomized.study_id}"
    )
    death.primary_cause = "progression"
    save(users["coordinator"], death, complete=True)
    assert SafetyAlert.objects.count() == OutboundEmail.objects.count() == 1
    randomized.refresh_from_db()
    assert randomized.status == "died"  # the form's own effect still happens


@pytest.mark.django_db
def test_each_reoperation_alerts_once(users, randomized, safety_team):
    first = save(
        users["coordinator"],
        Reoperation(
            participant=randomized,
            reoperation_date=toronto_today(),
            reason="infection",
            procedure="Washout",
        ),
        complete=True,
    )
    second = save(
        users["coordinator"],
        Reoperation(participant=randomized, reoperation_date=toronto_today()),
    )
    first.procedure = "Washout and liner exchange"
    save(users["coordinator"], first, complete=True, reason="Op note")
    alerts = SafetyAlert.objects.order_by("form_id")
    assert [(a.kind, a.form_id) for a in alerts] == [
        ("reoperation", first.pk),
        ("reoperation", second.pk),
    ]
    assert OutboundEmail.objects.count() == 2
    assert alert_of(first).email.subject == (
        f"PERFORM safety: Reoperation at TOR, {randomized.study_id}"
    )


@pytest.mark.django_db
def test_other_forms_alert_no_one(users, randomized, safety_team):
    save(
        users["coordinator"],
        Operative(participant=randomized, surgery_date=toronto_today()),
    )
    save(
        users["coordinator"],
        ProtocolDeviation(
            participant=randomized,
            deviation_date=toronto_today(),
            category="consent",
            severity="major",
        ),
    )
    assert not SafetyAlert.objects.exists()
    assert not OutboundEmail.objects.exists()


# ---------------------------------------------------------------------------
# What the e-mail says
# ---------------------------------------------------------------------------
@pytest.mark.django_db
@override_settings(SITE_URL=SITE_URL)
def test_the_alert_email_names_the_event_and_links_the_form_but_no_personal_data(
    users, randomized, safety_team, mailoutbox
):
    Participant.objects.filter(pk=randomized.pk).update(
        age_at_screening=87,
        year_of_birth=1938,
        sex="male",
        fracture_status="complete",
        screening_notes="Daughter is the main carer",
    )
    randomized.refresh_from_db()  # the form carries this participant object
    ae = save(users["coordinator"], serious_ae(randomized))
    email = alert_of(ae).email
    url = SITE_URL + reverse(
        "crf:repeatable_edit", args=[randomized.study_id, "adverse-event", ae.pk]
    )
    assert email.subject == (
        f"PERFORM safety: Serious adverse event at TOR, {randomized.study_id}"
    )
    for body in (email.body_text, email.body_html):
        assert randomized.study_id in body
        assert "TOR" in body
        assert "Serious adverse event" in body
        assert "Deep wound infection" in body
        assert toronto_today().isoformat() in body  # aware on
        assert "by coordinator" in body
    assert f"Open the form: {url}" in email.body_text
    assert f'href="{url}"' in email.body_html

    for body in (email.body_text, email.body_html):
        without_link = body.replace(url, "")
        assert not re.search(r"\b(87|1938)\b", without_link)
        assert not re.search(
            r"\b(age|sex|male|female|fracture|screening)\b", without_link, re.I
        )
        assert "carer" not in without_link

    # Sent through the outbox with the locmem backend: to the same people.
    assert email_deliver(email.pk).outcome == "sent"
    (message,) = mailoutbox
    assert message.to == SITE_A_RECIPIENTS
    assert message.subject == email.subject
    assert url in message.body


@pytest.mark.django_db
def test_the_event_term_is_escaped_in_the_html_body_only(
    users, randomized, safety_team
):
    ae = save(
        users["coordinator"], serious_ae(randomized, term='Fall <b>"bad"</b> & cut')
    )
    email = alert_of(ae).email
    assert 'Event: Fall <b>"bad"</b> & cut' in email.body_text
    assert "Fall &lt;b&gt;&quot;bad&quot;&lt;/b&gt; &amp; cut" in email.body_html
    assert "<b>" not in email.body_html


@pytest.mark.django_db
@override_settings(SITE_URL=SITE_URL)
def test_the_death_alert_links_the_death_form(users, randomized, safety_team):
    death = save(
        users["coordinator"],
        Death(
            participant=randomized,
            death_date=toronto_today(),
            primary_cause="progression",
        ),
    )
    text = alert_of(death).email.body_text
    url = SITE_URL + reverse("crf:single_edit", args=[randomized.study_id, "death"])
    assert f"Open the form: {url}" in text
    assert "Primary cause: Cancer progression" in text
    assert f"Date of death: {toronto_today().isoformat()}" in text


# ---------------------------------------------------------------------------
# Late reports
# ---------------------------------------------------------------------------
def utc(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("awareness", "entered_at", "zone", "late"),
    [
        # Same local day, next local day: within 24 hours is possible.
        (datetime.date(2026, 3, 10), utc(2026, 3, 10, 15), "America/Toronto", False),
        (datetime.date(2026, 3, 10), utc(2026, 3, 12, 3), "America/Toronto", False),
        # 23:59 on 11 March in Toronto (EDT) is 03:59 on 12 March UTC: still
        # the next local day, so not late although the UTC date is two days on.
        (datetime.date(2026, 3, 10), utc(2026, 3, 12, 3, 59), "America/Toronto", False),
        # Local midnight of the second day after: certainly over 24 hours.
        (datetime.date(2026, 3, 10), utc(2026, 3, 12, 4), "America/Toronto", True),
        # In winter (EST) the same local midnight is an hour later in UTC.
        (datetime.date(2026, 1, 10), utc(2026, 1, 12, 4, 30), "America/Toronto", False),
        (datetime.date(2026, 1, 10), utc(2026, 1, 12, 5), "America/Toronto", True),
        (datetime.date(2026, 3, 10), utc(2026, 3, 20, 12), "America/Toronto", True),
        # In Berlin 23:30 UTC on 11 March is already 12 March: late, though
        # the UTC date is only one day on.
        (datetime.date(2026, 3, 10), utc(2026, 3, 11, 23, 30), "Europe/Berlin", True),
        (datetime.date(2026, 3, 10), utc(2026, 3, 11, 22, 59), "Europe/Berlin", False),
        # No awareness date: never flagged.
        (None, utc(2030, 1, 1), "America/Toronto", False),
    ],
)
def test_report_is_late_counts_local_days_after_awareness(
    awareness, entered_at, zone, late
):
    assert report_is_late(awareness, entered_at, zone) is late


@pytest.mark.django_db
def test_a_late_serious_adverse_event_is_flagged_in_the_alert_and_subject(
    users, randomized, safety_team
):
    ae = save(
        users["coordinator"],
        serious_ae(
            randomized,
            onset_date=toronto_today() - 4 * DAY,
            awareness_date=toronto_today() - 3 * DAY,
        ),
    )
    alert = alert_of(ae)
    assert alert.late is True
    assert alert.email.subject == (
        "[LATE REPORT] PERFORM safety: Serious adverse event at TOR, "
        f"{randomized.study_id}"
    )
    assert "LATE REPORT" in alert.email.body_text
    assert "LATE REPORT" in alert.email.body_html


@pytest.mark.django_db
def test_a_report_entered_the_day_after_awareness_is_not_flagged(
    users, randomized, safety_team
):
    ae = save(
        users["coordinator"],
        serious_ae(randomized, awareness_date=toronto_today() - DAY),
    )
    alert = alert_of(ae)
    assert alert.late is False
    assert alert.email.subject.startswith("PERFORM safety:")
    assert "LATE" not in alert.email.body_text


# ---------------------------------------------------------------------------
# Committed with the form, or not at all
# ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_rolled_back_save_leaves_no_alert_and_no_email(
    users, randomized, safety_team, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(tasks.outbox_send, "delay", lambda **kw: sent.append(kw))
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        save(users["coordinator"], serious_ae(randomized))
        assert SafetyAlert.objects.count() == 1  # written with the form...
        raise RuntimeError("the request failed after the save")
    assert callbacks == []
    assert not AdverseEvent.objects.exists()  # ...and gone with it
    assert not SafetyAlert.objects.exists()
    assert not OutboundEmail.objects.exists()
    assert sent == []


@pytest.mark.django_db
def test_a_committed_save_queues_the_alert_email_for_a_worker(
    users, randomized, safety_team, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(tasks.outbox_send, "delay", lambda **kw: sent.append(kw))
    with django_capture_on_commit_callbacks(execute=True):
        ae = save(users["coordinator"], serious_ae(randomized))
        assert sent == []  # not before the commit
    assert sent == [{"email_id": alert_of(ae).email_id}]


@pytest.mark.django_db
def test_an_event_made_serious_later_is_reported_at_that_save(users, randomized):
    ae = save(
        users["coordinator"],
        serious_ae(randomized, serious=False, sae_hospitalization=False),
    )
    # As if the non-serious event had been entered three days earlier.
    three_days_ago = timezone.now() - 3 * DAY
    AdverseEvent.objects.filter(pk=ae.pk).update(created_at=three_days_ago)
    ae.refresh_from_db()
    ae.serious, ae.sae_hospitalization = True, True
    before = timezone.now()
    save(users["coordinator"], ae)
    alert = alert_of(ae)
    assert alert.entered_at >= before  # the clock starts when it became an SAE
    assert ae.created_at == three_days_ago

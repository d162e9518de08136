"""Reminders and safety alerts delivered end to end: tasks published to the
real Redis broker, run by real ``celery worker`` processes, sent over SMTP to
a real local server (aiosmtpd) that keeps what it receives.

The worker processes run with ``REMINDERS_DAILY_HOUR=0`` and the weekly
digest due from Monday 00:00, so every site's digest is due whenever the
test runs; the sweep's own timing is tested with fixed clocks in
test_reminders.py.
"""

import datetime
from collections import Counter

import pytest
from django.db import transaction
from django.urls import reverse

from crf.forms import services
from crf.models import AdverseEvent, Operative, SafetyAlert, VisitReminder
from crf.schedule.visits import site_today
from crf.tasks import reminders_sweep_task
from infrastructure.models import OutboundEmail
from infrastructure.tasks import outbox_flush
from tests.crf.bulk import form_kwargs, participants_add
from tests.factories import UserFactory
from tests.workers import (
    wait_for,
    worker_settled,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

DAY = datetime.timedelta(days=1)
WORKER_ENV = {
    "REMINDERS_DAILY_HOUR": "0",
    "REMINDERS_WEEKLY_DAY": "0",
    "REMINDERS_WEEKLY_HOUR": "0",
}


@pytest.fixture
def worker_env():
    return WORKER_ENV


def allocation_mail_settled(mailbox, worker):
    """Wait for the allocation e-mails of the ``randomized`` fixture (to the
    site coordinator and the randomizer), then empty the mailbox."""
    assert wait_for(lambda: len(mailbox.messages) >= 2), worker.log()
    assert all("randomized" in m.subject for m in mailbox.messages)
    mailbox.reset()


def pending_or_unsent():
    return OutboundEmail.objects.exclude(status=OutboundEmail.Status.SENT)


def operated_at(site, actor, people_days):
    """Operative forms: ``people_days`` maps participant → days since surgery
    (counted from the site's local date)."""
    today = site_today(site.time_zone)
    Operative.objects.bulk_create(
        Operative(**form_kwargs(p, actor, surgery_date=today - days * DAY))
        for p, days in people_days.items()
    )


@pytest.fixture
def cohort(users, site_a, site_b):
    """Site A: a 2-week visit overdue and one opening tomorrow; site B: one
    operated on 30 days ago (2 weeks overdue, 6 weeks opening in 5 days). The
    data manager gets the weekly digest."""
    actor = users["coordinator"]
    overdue, opening = participants_add(site_a, 2, actor=actor)
    (elsewhere,) = participants_add(site_b, 1, actor=actor)
    operated_at(site_a, actor, {overdue: 23, opening: 9})
    operated_at(site_b, actor, {elsewhere: 30})
    return {"overdue": overdue, "opening": opening, "elsewhere": elsewhere}


def test_sweep_through_a_worker_delivers_each_digest_once(workers, mailbox, cohort):
    worker = workers()
    reminders_sweep_task.delay()
    assert wait_for(lambda: len(mailbox.messages) >= 3), worker.log()
    by_recipient = {m.to: m for m in mailbox.messages}
    assert set(by_recipient) == {
        ("coordinator@example.org",),
        ("coordinator2@example.org",),
        ("datamanager@example.org",),
    }
    site_a_digest = by_recipient[("coordinator@example.org",)]
    assert site_a_digest.subject.startswith("PERFORM TOR: visits for ")
    assert "(1 overdue, 1 window opens soon)" in site_a_digest.subject
    assert f"{cohort['overdue'].study_id}, 2 weeks visit" in site_a_digest.text
    assert f"{cohort['opening'].study_id}, 2 weeks visit" in site_a_digest.text
    assert cohort["elsewhere"].study_id not in site_a_digest.text
    assert (
        f"/participants/{cohort['opening'].study_id}/forms/follow-up/2w/"
        in site_a_digest.html
    )
    weekly = by_recipient[("datamanager@example.org",)]
    assert "2 overdue visits" in weekly.subject
    # The worker marks a row sent after the SMTP server has the message: wait
    # for the last row's commit rather than race it.
    assert wait_for(lambda: not pending_or_unsent().exists()), worker.log()
    # Site A's two visits; site B's overdue 2-week visit and its 6-week
    # window opening in 5 days.
    assert VisitReminder.objects.filter(digest="daily").count() == 4

    # The same day again: the sweep finds every digest written, sends nothing.
    result = reminders_sweep_task.delay().get(timeout=60)
    assert result == {"daily_emails": 0, "weekly_emails": 0, "visits_listed": 0}
    worker_settled(worker)
    assert len(mailbox.messages) == 3
    assert OutboundEmail.objects.count() == 3


def test_worker_killed_mid_sweep_then_a_new_one_delivers_each_exactly_once(
    workers, mailbox, users, site_a
):
    actor = users["coordinator"]
    coordinators = [
        UserFactory(username=f"coordinator-{n}", email=f"coordinator-{n}@example.org")
        for n in range(6)
    ]
    group = users["coordinator"].groups.get()
    for user in coordinators:
        user.groups.set([group])
        user.memberships.create(site=site_a)
    people = participants_add(site_a, 3, actor=actor)
    operated_at(site_a, actor, {p: 23 + n for n, p in enumerate(people)})
    users["datamanager"].receives_visit_reminders = False
    users["datamanager"].save()
    expected = {"coordinator@example.org"} | {u.email for u in coordinators}

    first = workers()
    # The SMTP server takes three digests, then holds the fourth conversation
    # before any of its content is sent: the worker is killed right there.
    mailbox.hold_after(3)
    reminders_sweep_task.delay()
    assert wait_for(mailbox.holding.is_set), first.log()
    first.kill()
    mailbox.release()
    assert len(mailbox.messages) == 3
    assert OutboundEmail.objects.filter(status="sent").count() == 3
    assert pending_or_unsent().count() == len(expected) - 3

    # A new worker; beat would run the sweep (idempotent) and the outbox flush
    # (every minute); here they are run at once.
    second = workers()
    reminders_sweep_task.delay().get(timeout=60)
    outbox_flush.delay(grace_seconds=0)
    assert wait_for(
        lambda: (
            len(mailbox.messages) >= len(expected) and not pending_or_unsent().exists()
        )
    ), second.log()
    worker_settled(second)
    received = Counter(m.to[0] for m in mailbox.messages)
    assert received == Counter(expected)  # every digest, each exactly once
    assert len({m.message_id for m in mailbox.messages}) == len(expected)
    assert OutboundEmail.objects.count() == len(expected)


def test_smtp_refusing_for_a_while_retries_then_delivers_once(
    workers, mailbox, users, randomized
):
    users["datamanager"].safety_contact = True
    users["datamanager"].save()
    worker = workers()
    allocation_mail_settled(mailbox, worker)
    mailbox.refuse_next(3)
    with transaction.atomic():
        services.form_save(
            actor=users["coordinator"],
            form=AdverseEvent(
                participant=randomized,
                term="Pulmonary embolism",
                serious=True,
                sae_hospitalization=True,
            ),
            complete=False,
        )
    assert wait_for(lambda: mailbox.messages), worker.log()
    email = OutboundEmail.objects.get(kind="safety_alert")
    assert wait_for(lambda: OutboundEmail.objects.get(pk=email.pk).status == "sent")
    email.refresh_from_db()
    assert mailbox.refused == 3
    assert email.attempts == 4, worker.log()  # three refusals, then accepted
    assert "421" in email.last_error
    worker_settled(worker)
    assert len(mailbox.messages) == 1


SAE = {
    "term": "Pulmonary embolism",
    "body_system": "respiratory",
    "clavien_dindo": "IVa",
    "serious": "true",
    "sae_life_threatening": "on",
    "relatedness": "possible",
    "expected": "false",
    "outcome": "recovering",
}


def test_sae_entered_through_the_web_form_alerts_the_right_people_once(
    workers, mailbox, client, users, randomized
):
    users["datamanager"].safety_contact = True
    users["datamanager"].save()
    worker = workers()
    allocation_mail_settled(mailbox, worker)
    today = site_today(randomized.site.time_zone)
    client.force_login(users["coordinator"])
    new = reverse("crf:repeatable_new", args=[randomized.study_id, "adverse-event"])
    # Refused input saves nothing and alerts no one.
    refused = client.post(
        new,
        {
            **SAE,
            "onset_date": today.isoformat(),
            "awareness_date": (today - DAY).isoformat(),  # before the onset
            "save_complete": "1",
        },
    )
    assert refused.status_code == 200
    assert "awareness_date" in refused.context["form"].errors
    assert not AdverseEvent.objects.exists()

    response = client.post(
        new,
        {
            **SAE,
            "onset_date": today.isoformat(),
            "awareness_date": today.isoformat(),
            "save_complete": "1",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    event = AdverseEvent.objects.get()
    assert wait_for(lambda: mailbox.messages), worker.log()
    (message,) = mailbox.messages
    assert sorted(message.to) == ["datamanager@example.org", "investigator@example.org"]
    assert message.subject == (
        f"PERFORM safety: Serious adverse event at TOR, {randomized.study_id}"
    )
    assert "Seriousness: Life-threatening" in message.text
    assert f"/participants/{randomized.study_id}/forms/adverse-event/{event.pk}/" in (
        message.text
    )
    alert = SafetyAlert.objects.get()
    assert (alert.kind, alert.late, alert.form_id) == ("sae", False, event.pk)

    # Corrections of the same event alert no one again.
    detail = reverse(
        "crf:repeatable_edit", args=[randomized.study_id, "adverse-event", event.pk]
    )
    edited = client.post(
        detail,
        {
            **SAE,
            "onset_date": today.isoformat(),
            "awareness_date": today.isoformat(),
            "outcome": "recovered",
            "reason": "Patient recovered",
            "based_on_version": "1",
            "save_complete": "1",
        },
    )
    assert edited.status_code == 302, edited.context["form"].errors
    worker_settled(worker)
    assert len(mailbox.messages) == 1
    assert SafetyAlert.objects.count() == 1


def test_sae_in_a_rolled_back_transaction_alerts_no_one(
    workers, mailbox, users, randomized
):
    users["datamanager"].safety_contact = True
    users["datamanager"].save()
    running = workers()
    allocation_mail_settled(mailbox, running)

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), transaction.atomic():
        services.form_save(
            actor=users["coordinator"],
            form=AdverseEvent(
                participant=randomized,
                term="Fall",
                serious=True,
                sae_hospitalization=True,
            ),
            complete=False,
        )
        raise Abandoned
    worker_settled(running)
    assert mailbox.messages == []
    assert not SafetyAlert.objects.exists()
    # The allocation e-mails of ``randomized`` are the only rows.
    assert not OutboundEmail.objects.exclude(kind="allocation").exists()

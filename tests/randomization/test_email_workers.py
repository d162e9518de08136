"""Allocation and stratum-exhaustion e-mails delivered end to end: the
randomization commits, its task is published to the real Redis broker and run
by a real ``celery worker`` process, which writes the outbox rows; their
commit queues the sends, and the worker delivers them over SMTP to a real
local server (aiosmtpd) that keeps what it receives.
"""

import pytest
from django.utils import timezone

from infrastructure.models import OutboundEmail
from perform import roles
from randomization import services, tasks
from randomization.exceptions import StratumExhausted
from randomization.models import ListEvent, Slot
from tests.factories import user_with_role
from tests.workers import (
    wait_for,
    worker_settled,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ARM_LABELS = {
    "IF": "Internal fixation",
    "RER": "Resection with endoprosthetic reconstruction",
}


def test_an_allocation_reaches_its_site_and_randomizer_over_smtp_once(
    workers, mailbox, client, users, site_a, active_list, consented
):
    running = workers()
    participant = consented(site_a)
    slot = services.participant_randomize(
        actor=users["randomizer"], participant=participant
    ).slot

    rows = OutboundEmail.objects.filter(kind="allocation")
    assert wait_for(
        lambda: len(mailbox.messages) >= 2 and not rows.exclude(status="sent")
    ), running.log()
    expected = {
        users["coordinator"].email: f"site-coordinator:{users['coordinator'].pk}",
        users["randomizer"].email: f"randomizer:{users['randomizer'].pk}",
    }
    by_address = {row.to[0]: row for row in rows}
    assert {a: r.key for a, r in by_address.items()} == {
        address: f"allocation:{participant.study_id}:{suffix}"
        for address, suffix in expected.items()
    }
    for message in mailbox.messages:
        (address,) = message.to  # one recipient each: nobody sees the others
        assert message.message_id == by_address[address].message_id
        assert message.subject == f"PERFORM: {participant.study_id} randomized"
        assert f"{ARM_LABELS[slot.arm]} ({slot.arm})" in message.text
        assert "block" not in message.text.lower()
    assert sorted(m.to[0] for m in mailbox.messages) == sorted(expected)

    # On the e-mail log, sent, with their keys.
    client.force_login(users["datamanager"])
    page = client.get("/emails/", {"kind": "allocation"}).content.decode()
    for row in rows:
        assert f'data-key="{row.key}"' in page
    assert page.count('data-status="sent"') == 2

    # Redelivered by the broker: nothing more is written or sent.
    assert tasks.allocation_notify.delay(slot_id=slot.pk).get(timeout=60) == 0
    worker_settled(running)
    assert len(mailbox.messages) == 2
    assert rows.count() == 2


@pytest.fixture
def short_list(users, site_a, site_b):
    """An active list of one block per stratum (2, 4 or 6 slots)."""
    allocation_list = services.list_generate(
        actor=users["statistician"],
        name="Short",
        seed=4242,
        slots_per_stratum=1,
        sites=[site_a, site_b],
    )
    return services.list_activate(
        actor=users["statistician"], allocation_list=allocation_list
    )


def test_an_exhausted_stratum_reaches_the_statisticians_over_smtp_once(
    workers, mailbox, users, site_a, short_list, consented
):
    second = user_with_role(roles.STATISTICIAN, username="statistician2")
    randomizer = users["randomizer"]
    length = Slot.objects.filter(stratum__key="TOR|complete").count()
    for _ in range(length):
        services.participant_randomize(
            actor=randomizer, participant=consented(site_a, "complete")
        )
    # Their allocation e-mails are not this test's business.
    Slot.objects.update(notified_at=timezone.now())
    turned_away = [consented(site_a, "complete") for _ in range(2)]
    for participant in turned_away:
        with pytest.raises(StratumExhausted):
            services.participant_randomize(actor=randomizer, participant=participant)
    running = workers()

    rows = OutboundEmail.objects.filter(kind="stratum_exhausted")
    assert wait_for(lambda: mailbox.messages and rows.filter(status="sent").exists()), (
        running.log()
    )
    assert wait_for(
        lambda: ListEvent.objects.filter(action=ListEvent.Action.EXHAUSTED).count() == 2
    )
    worker_settled(running)
    (message,) = mailbox.messages
    assert sorted(message.to) == sorted([users["statistician"].email, second.email])
    assert message.subject == (
        "PERFORM: allocation list exhausted in stratum TOR|complete"
    )
    (row,) = rows
    assert row.key == (
        f"stratum-exhausted:{short_list.pk}:TOR|complete:{length}-allocated"
    )
    assert message.message_id == row.message_id
    # Whichever worker ran first wrote the row and named its participant.
    assert any(p.study_id in message.text for p in turned_away)
    assert not OutboundEmail.objects.filter(kind="allocation").exists()

"""Who sees a participant's contact details (crf.epro.contacts.
contact_details_visible): the site's own staff only. Another site's
coordinator does not find the participant (404); the Methods Centre may not
open the page (403) and finds no address, number or proxy on the participant
page, its audit trail, the e-mail log or the outbox's admin."""

import pytest
from django.urls import reverse

from crf.epro.contacts import contact_details_visible, contact_preference_save
from infrastructure.models import OutboundEmail
from infrastructure.outbox import PARTICIPANT_HIDDEN
from perform.models import SiteMembership

EMAIL = "jane.patient@example.org"
PHONE = "+14165550123"
PROXY = "Robert Caregiver"
DETAILS = (EMAIL, PHONE, PROXY, "jane.patient")
METHODS_CENTRE = ("datamanager", "statistician", "randomizer")


@pytest.fixture
def contact(users, randomized):
    contact_preference_save(
        actor=users["coordinator"],
        participant=randomized,
        electronic_contact=True,
        channel="email",
        email=EMAIL,
        phone=PHONE,
        language="fr",
        proxy_name=PROXY,
        proxy_relationship="Husband",
    )
    # A change, so the audit trail holds old and new values too.
    contact_preference_save(
        actor=users["coordinator"],
        participant=randomized,
        electronic_contact=True,
        channel="sms",
        email=EMAIL,
        phone="+1 416 555 0199",
        language="fr",
        proxy_name=PROXY,
        proxy_relationship="Husband",
        reason="New mobile",
    )
    return randomized


def no_details(content: str) -> None:
    for detail in (*DETAILS, "+14165550199"):
        assert detail not in content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("coordinator", True),
        ("investigator", True),
        ("coordinator2", False),
        ("datamanager", False),
        ("randomizer", False),
        ("statistician", False),
        ("dsmb", False),
        ("admin", False),
        ("owner", False),
    ],
)
def test_contact_details_visible_to_own_site_staff_only(users, contact, role, visible):
    assert contact_details_visible(users[role], contact) is visible


@pytest.mark.django_db
def test_methods_centre_with_a_site_membership_still_sees_no_details(
    users, contact, site_a
):
    """Seeing every site is the Methods Centre's, whatever else it holds."""
    owner = users["owner"]
    SiteMembership.objects.create(user=owner, site=site_a)
    assert not contact_details_visible(owner, contact)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("coordinator", 200),
        ("investigator", 200),
        ("coordinator2", 404),
        ("datamanager", 403),
        ("statistician", 403),
        ("randomizer", 403),
        ("dsmb", 403),
    ],
)
def test_contact_page_by_role(client, users, contact, role, status):
    client.force_login(users[role])
    response = client.get(reverse("epro:participant_contact", args=[contact.study_id]))
    assert response.status_code == status
    if status == 200:
        assert EMAIL in response.content.decode()
    else:
        no_details(response.content.decode())


@pytest.mark.django_db
def test_participant_page_shows_details_to_site_staff_only(client, users, contact):
    page = reverse("participant_detail", args=[contact.study_id])
    client.force_login(users["coordinator"])
    content = client.get(page).content.decode()
    assert 'id="epro-contact"' in content  # the button
    assert EMAIL in content
    assert "+14165550199" in content
    assert PROXY in content
    for role in METHODS_CENTRE:
        client.force_login(users[role])
        response = client.get(page)
        assert response.status_code == 200
        content = response.content.decode()
        assert 'id="epro-section"' in content  # the panel, without details
        assert 'id="epro-contact"' not in content
        assert 'id="epro-contact-details"' not in content
        no_details(content)


@pytest.mark.django_db
def test_audit_trail_shows_contact_changes_to_site_staff_only(client, users, contact):
    url = reverse("participant_audit", args=[contact.study_id])
    client.force_login(users["coordinator"])
    content = client.get(url).content.decode()
    assert "Contact preference" in content
    assert "+14165550199" in content
    for role in METHODS_CENTRE:
        client.force_login(users[role])
        content = client.get(url).content.decode()
        assert "Contact preference" not in content
        no_details(content)


def _participant_row(**fields):
    defaults = {
        "key": "epro-invitation:1",
        "kind": "epro_invitation",
        "to": [EMAIL],
        "subject": "PERFORM study: your questionnaires are ready",
        "body_text": "link",
        "holds_credential": True,
        "to_participant": True,
        "message_id": "<x@perform>",
        "status": OutboundEmail.Status.FAILED,
        "attempts": 5,
        "last_error": f"(550, b'5.1.1 <{EMAIL}>: Recipient address rejected')",
    }
    return OutboundEmail.objects.create(**{**defaults, **fields})


@pytest.mark.django_db
def test_email_log_hides_participant_addresses(client, users):
    _participant_row()
    _participant_row(
        key="epro-reminder:1:1",
        kind="epro_reminder",
        to=[PHONE],
        channel="sms",
        last_error=f"Provider refused {PHONE}: unreachable",
    )
    OutboundEmail.objects.create(
        key="digest",
        kind="visit_digest",
        to=["coordinator@example.org"],
        subject="Visits due",
        body_text="Body",
        message_id="<y@perform>",
    )
    client.force_login(users["datamanager"])
    content = client.get("/emails/").content.decode()
    # Each row's "To", and the address or number in each error.
    assert content.count(PARTICIPANT_HIDDEN) == 4
    assert "coordinator@example.org" in content  # staff addresses stay
    no_details(content)
    assert "Recipient address rejected" in content  # the error, blanked


@pytest.mark.django_db
def test_outbox_admin_hides_participant_address_body_and_search(client, users):
    row = _participant_row()
    client.force_login(users["datamanager"])
    change = client.get(
        reverse("admin:infrastructure_outboundemail_change", args=[row.pk])
    )
    assert change.status_code == 200
    content = change.content.decode()
    assert PARTICIPANT_HIDDEN in content
    no_details(content)
    listing = reverse("admin:infrastructure_outboundemail_changelist")
    found = client.get(listing, {"q": EMAIL}).content.decode()
    assert f"/{row.pk}/change/" not in found
    # Found by its key all the same.
    by_key = client.get(listing, {"q": "epro-invitation"}).content.decode()
    assert f"/{row.pk}/change/" in by_key

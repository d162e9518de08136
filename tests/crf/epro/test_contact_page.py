"""The contact preferences page (crf.epro.contact_views): every refusal with
its message in the summary and nothing saved, phone numbers kept in E.164,
changes and opt-outs audited with their reason, and only consented
participants."""

import re

import pytest
from django.urls import reverse
from django.utils.html import escape
from pghistory.models import Events

from crf.epro import contacts
from crf.epro.contact_forms import PROXY_NAME_NEEDED, PROXY_RELATIONSHIP_NEEDED
from crf.models import ContactPreference
from perform import services
from perform.exceptions import TrialError

VALID = {
    "electronic_contact": "yes",
    "channel": "email",
    "email": "patient@example.org",
    "phone": "",
    "language": "en",
    "proxy_name": "",
    "proxy_relationship": "",
    "save": "Save contact preferences",
}


@pytest.fixture
def consented(users, site_a, screen):
    participant = screen(users["coordinator"], site_a)
    services.participant_consent_record(
        actor=users["coordinator"],
        participant=participant,
        decision_date=participant.screening_date,
        form_version="v1",
        obtained_by="Dr A",
    )
    participant.refresh_from_db()
    return participant


def url(participant) -> str:
    return reverse("epro:participant_contact", args=[participant.study_id])


def summary(content: str) -> str:
    match = re.search(r'<div[^>]*id="error-summary"[^>]*>(.*?)</div>', content, re.S)
    assert match, "no error summary"
    return match.group(1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": ""}, "email", contacts.EMAIL_NEEDED),
        ({"channel": "sms", "email": ""}, "phone", contacts.PHONE_NEEDED),
        (
            {"electronic_contact": "no"},
            "channel",
            contacts.CLINIC_ONLY_WITHOUT_CONSENT,
        ),
        (
            {"channel": "sms", "phone": "416 555 0123"},
            "phone",
            contacts.PHONE_NEEDS_COUNTRY_CODE,
        ),
        ({"channel": "sms", "phone": "+1 555"}, "phone", contacts.PHONE_INVALID),
        ({"channel": "sms", "phone": "+1 416 CALL"}, "phone", contacts.PHONE_INVALID),
        ({"email": "not-an-address"}, "email", "Enter a valid email address."),
        (
            {"electronic_contact": ""},
            "electronic_contact",
            "Say whether the participant agrees.",
        ),
        ({"channel": ""}, "channel", "Choose a channel."),
        ({"proxy_name": "J. Doe"}, "proxy_relationship", PROXY_RELATIONSHIP_NEEDED),
        ({"proxy_relationship": "Daughter"}, "proxy_name", PROXY_NAME_NEEDED),
        ({"language": "xx"}, "language", "Select a valid choice."),
    ],
)
def test_refused_preferences_show_their_message_and_save_nothing(
    client, users, consented, changes, field, message
):
    client.force_login(users["coordinator"])
    response = client.post(url(consented), {**VALID, **changes})
    assert response.status_code == 200
    content = response.content.decode()
    assert escape(message) in summary(content)
    # The summary links to the field (a radio group: its wrapper).
    assert f'href="#div_id_{field}"' in content or f'href="#id_{field}"' in content
    assert not ContactPreference.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+1 (416) 555-0123", "+14165550123"),
        ("+44 20.7946.0958", "+442079460958"),
        ("0049 40 7410-0", "+494074100"),
        ("  +33 6 12 34 56 78 ", "+33612345678"),
    ],
)
def test_mobile_number_typed_with_separators_is_stored_in_e164(
    client, users, consented, typed, stored
):
    client.force_login(users["coordinator"])
    response = client.post(
        url(consented), {**VALID, "channel": "sms", "email": "", "phone": typed}
    )
    assert response.status_code == 302
    preference = ContactPreference.objects.get(participant=consented)
    assert preference.phone == stored
    assert preference.channel == "sms"
    assert preference.recorded_by == users["coordinator"]


@pytest.mark.django_db
def test_clinic_only_without_electronic_contact_is_saved(client, users, consented):
    client.force_login(users["coordinator"])
    response = client.post(
        url(consented),
        {**VALID, "electronic_contact": "no", "channel": "clinic", "email": ""},
    )
    assert response.status_code == 302
    preference = ContactPreference.objects.get()
    assert not preference.electronic_contact
    assert not preference.messages_allowed


@pytest.mark.django_db
def test_service_refuses_what_the_form_refuses(users, consented):
    """The service is the backstop of the page's rules (the API or a task
    calling it directly gets the same refusals)."""
    base = {
        "actor": users["coordinator"],
        "participant": consented,
        "electronic_contact": True,
        "language": "en",
    }
    with pytest.raises(TrialError) as refusal:
        contacts.contact_preference_save(**base, channel="sms", phone="4165550123")
    assert refusal.value.field == "phone"
    assert refusal.value.message == contacts.PHONE_NEEDS_COUNTRY_CODE
    with pytest.raises(TrialError) as refusal:
        contacts.contact_preference_save(**base, channel="email")
    assert refusal.value.message == contacts.EMAIL_NEEDED
    assert not ContactPreference.objects.exists()


@pytest.mark.django_db
def test_change_needs_a_reason_and_is_audited_with_it(client, users, consented):
    client.force_login(users["coordinator"])
    assert client.post(url(consented), VALID).status_code == 302
    page = client.get(url(consented)).content.decode()
    assert 'name="reason"' in page
    assert 'value="patient@example.org"' in page

    changed = {**VALID, "email": "new@example.org"}
    refused = client.post(url(consented), changed)
    assert refused.status_code == 200
    assert escape(contacts.REASON_NEEDED) in summary(refused.content.decode())
    assert ContactPreference.objects.get().email == "patient@example.org"

    saved = client.post(url(consented), {**changed, "reason": "New address given"})
    assert saved.status_code == 302
    preference = ContactPreference.objects.get()
    assert preference.email == "new@example.org"
    event = Events.objects.tracks(preference).filter(pgh_label="update").get()
    assert event.pgh_diff["email"] == ["patient@example.org", "new@example.org"]
    assert event.pgh_context["reason"] == "New address given"
    assert event.pgh_context["username"] == "coordinator"


@pytest.mark.django_db
def test_opt_out_and_its_undoing_are_recorded_with_a_reason(client, users, consented):
    client.force_login(users["coordinator"])
    client.post(url(consented), VALID)
    preference = ContactPreference.objects.get()
    assert preference.messages_allowed

    refused = client.post(url(consented), {"optout-reason": "", "opt_out": "x"})
    assert refused.status_code == 200
    assert escape(contacts.REASON_NEEDED) in summary(refused.content.decode())
    preference.refresh_from_db()
    assert preference.opted_out_at is None

    response = client.post(
        url(consented), {"optout-reason": "Phoned the clinic", "opt_out": "x"}
    )
    assert response.status_code == 302
    preference.refresh_from_db()
    assert preference.opted_out_at is not None
    assert not preference.messages_allowed
    page = client.get(url(consented)).content.decode()
    assert 'id="opted-out"' in page
    assert 'name="opt_in"' in page

    response = client.post(
        url(consented), {"optout-reason": "Asked again at visit", "opt_in": "x"}
    )
    assert response.status_code == 302
    preference.refresh_from_db()
    assert preference.opted_out_at is None
    reasons = [
        e.pgh_context["reason"]
        for e in Events.objects.tracks(preference)
        .filter(pgh_label="update")
        .order_by("pgh_created_at")
    ]
    assert reasons == ["Phoned the clinic", "Asked again at visit"]


@pytest.mark.django_db
def test_post_from_no_known_button_saves_nothing(client, users, consented):
    client.force_login(users["coordinator"])
    payload = {k: v for k, v in VALID.items() if k != "save"}
    response = client.post(url(consented), payload)
    assert response.status_code == 200
    assert 'id="unknown-post"' in response.content.decode()
    assert not ContactPreference.objects.exists()


@pytest.mark.django_db
def test_participant_not_consented_gets_a_message_not_a_form(
    client, users, site_a, screen
):
    eligible = screen(users["coordinator"], site_a)
    client.force_login(users["coordinator"])
    page = client.get(url(eligible))
    assert page.status_code == 200
    content = page.content.decode()
    assert 'id="contact-not-allowed"' in content
    assert "consented or randomized" in content
    assert 'id="contact-form"' not in content
    assert client.post(url(eligible), VALID).status_code == 200
    assert not ContactPreference.objects.exists()
    with pytest.raises(contacts.ContactNotAllowed):
        contacts.contact_preference_save(
            actor=users["coordinator"],
            participant=eligible,
            electronic_contact=False,
            channel="clinic",
            language="en",
        )
    # No button on the participant page either.
    detail = client.get(reverse("participant_detail", args=[eligible.study_id]))
    assert 'id="epro-contact"' not in detail.content.decode()

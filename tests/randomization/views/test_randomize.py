"""The randomize flow (confirmation, then result), the allocation page and its
PDF, and the randomize link on the participant page (``views/randomize.py``)."""

import io
import re

import pytest
from django.urls import reverse
from pypdf import PdfReader

from perform.models import ParticipantStatus
from randomization.models import Slot
from tests.randomization.views.pages import (
    ARM_LABELS,
    allocation_url,
    messages_of,
    randomize_url,
    used_slots,
)


# ---------------------------------------------------------------------------
# Randomize: confirmation, then result
# ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_confirmation_page_shows_stratum_consent_and_eligibility(
    client, users, site_a, active_list, consented
):
    participant = consented(site_a, "complete")
    client.force_login(users["randomizer"])
    response = client.get(randomize_url(participant))
    assert response.status_code == 200
    page = response.content.decode()
    assert participant.study_id in page
    assert "Toronto General" in page
    assert re.search(r'id="stratum">TOR, complete<', page)
    assert "form version v1.0" in page
    assert "every criterion met" in page
    assert 'id="randomize-form"' in page
    assert 'id="cannot-randomize"' not in page
    assert not used_slots().exists()


@pytest.mark.django_db
def test_confirm_randomizes_once_and_a_repeated_post_returns_the_same_allocation(
    client, users, site_a, active_list, consented
):
    participant = consented(site_a)
    client.force_login(users["randomizer"])
    first = client.post(randomize_url(participant))
    assert first.status_code == 302
    assert first["Location"] == allocation_url(participant)
    slot = used_slots().get()
    assert slot.participant == participant
    assert (slot.stratum.key, slot.sequence) == ("TOR|impending", 1)
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.RANDOMIZED

    again = client.post(randomize_url(participant), follow=True)
    assert again.redirect_chain == [(allocation_url(participant), 302)]
    assert used_slots().get() == slot
    assert f"{participant.study_id} was already randomized" in " ".join(
        messages_of(again)
    )
    # The randomizer sees the arm, not the number within the stratum.
    assert again.context["allocation"].arm == slot.arm
    assert again.context["allocation"].sequence is None

    # The confirmation page now links to the result and offers no button.
    page = client.get(randomize_url(participant)).content.decode()
    assert 'id="allocation-link"' in page
    assert 'id="randomize-form"' not in page


@pytest.mark.django_db
def test_participant_not_consented_is_refused_with_the_reasons(
    client, users, site_a, active_list, screen
):
    participant = screen(users["coordinator"], site_a)
    client.force_login(users["randomizer"])
    page = client.get(randomize_url(participant)).content.decode()
    assert "status is eligible, not consented" in page
    assert "no consent is recorded" in page
    assert 'id="randomize-form"' not in page

    response = client.post(randomize_url(participant))
    assert response.status_code == 200
    assert "This participant cannot be randomized: status is eligible" in (
        response.content.decode()
    )
    assert 'id="randomize-error"' in response.content.decode()
    assert not used_slots().exists()
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.ELIGIBLE


@pytest.mark.django_db
def test_without_an_active_list_the_page_says_randomization_is_closed(
    client, users, site_a, consented, draft_list
):
    participant = consented(site_a)
    client.force_login(users["randomizer"])
    page = client.get(randomize_url(participant)).content.decode()
    assert "Randomization is not open: no allocation list is active." in page
    assert 'id="randomize-form"' not in page

    response = client.post(randomize_url(participant))
    assert response.status_code == 200
    assert "Randomization is not open: no allocation list is active." in (
        response.context["form"].non_field_errors()
    )
    assert not used_slots().exists()


@pytest.mark.django_db
def test_exhausted_stratum_is_a_clear_error_and_allocates_nothing(
    client, users, site_a, short_list, consented
):
    client.force_login(users["randomizer"])
    participants = [consented(site_a) for _ in range(3)]
    for participant in participants[:2]:
        assert client.post(randomize_url(participant)).status_code == 302
    response = client.post(randomize_url(participants[2]))
    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert errors == [
        "The allocation list for stratum TOR|impending is used up. Nobody was "
        "randomized; the statisticians have been alerted to extend the list."
    ]
    assert used_slots().count() == 2
    assert not Slot.objects.filter(participant=participants[2]).exists()
    participants[2].refresh_from_db()
    assert participants[2].status == ParticipantStatus.CONSENTED


@pytest.mark.django_db
def test_a_site_without_a_stratum_in_the_list_is_a_clear_error(
    client, users, active_list, consented
):
    from perform import roles
    from tests.factories import SiteFactory, user_with_role

    new_site = SiteFactory(code="OSL", name="Oslo", time_zone="Europe/Oslo")
    coordinator = user_with_role(
        roles.SITE_COORDINATOR, username="coord_osl", sites=[new_site]
    )
    participant = consented(new_site, coordinator=coordinator)
    client.force_login(users["randomizer"])
    response = client.post(randomize_url(participant))
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "The active list has no stratum OSL|impending; the statisticians must add "
        "it before this participant can be randomized."
    ]
    assert not used_slots().exists()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_coordinator_may_not_randomize(
    client, users, site_a, active_list, consented, method
):
    participant = consented(site_a)
    client.force_login(users["coordinator"])
    response = getattr(client, method)(randomize_url(participant))
    assert response.status_code == 403
    assert not used_slots().exists()


@pytest.mark.django_db
def test_randomize_page_of_an_unknown_participant_is_404(client, users, active_list):
    client.force_login(users["randomizer"])
    response = client.get(reverse("randomization:randomize", args=["PRF-TOR-9999"]))
    assert response.status_code == 404


# ---------------------------------------------------------------------------
# The result page, its PDF, and the participant page
# ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_result_page_shows_the_allocation_in_site_time(
    client, users, site_a, active_list, randomized
):
    participant, slot = randomized(site_a)
    client.force_login(users["randomizer"])
    response = client.get(allocation_url(participant))
    assert response.status_code == 200
    page = response.content.decode()
    assert f"{ARM_LABELS[slot.arm]} ({slot.arm})" in page
    assert re.search(r'id="allocation-stratum">TOR, impending<', page)
    assert 'id="allocation-sequence"' not in page  # statisticians only
    assert "Number within stratum" not in page
    assert re.search(r'id="allocation-by">randomizer<', page)
    assert "Randomized at (America/Toronto)" in page
    assert re.search(r"E[SD]T</dd>", page)  # Toronto time, not UTC
    assert response["Cache-Control"].startswith("max-age=0")

    client.force_login(users["statistician"])
    page = client.get(allocation_url(participant)).content.decode()
    assert re.search(r'id="allocation-sequence">1<', page)


@pytest.mark.django_db
def test_pdf_confirmation_names_the_participant_and_the_arm(
    client, users, site_a, active_list, randomized
):
    participant, slot = randomized(site_a)
    client.force_login(users["coordinator"])
    response = client.get(
        reverse("randomization:allocation_pdf", args=[participant.study_id])
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = " ".join(page.extract_text() for page in reader.pages)
    text = " ".join(text.split())
    assert participant.study_id in text
    assert ARM_LABELS[slot.arm] in text
    assert "NCT06863129" in text
    assert "TOR, impending" in text
    assert "randomizer" in text
    assert re.search(r"generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", text)
    assert "block" not in text.lower()
    assert "within stratum" not in text

    client.force_login(users["statistician"])
    response = client.get(
        reverse("randomization:allocation_pdf", args=[participant.study_id])
    )
    reader = PdfReader(io.BytesIO(response.content))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    # Filed at the site: no number even in the statistician's copy.
    assert participant.study_id in text and "within stratum" not in text
    assert "block" not in text.lower()


@pytest.mark.django_db
def test_allocation_pages_are_404_before_randomization(
    client, users, site_a, active_list, consented
):
    participant = consented(site_a)
    client.force_login(users["randomizer"])
    assert client.get(allocation_url(participant)).status_code == 404
    pdf = reverse("randomization:allocation_pdf", args=[participant.study_id])
    assert client.get(pdf).status_code == 404


@pytest.mark.django_db
def test_site_coordinator_sees_the_arm_and_the_other_site_does_not(
    client, users, site_a, active_list, randomized
):
    participant, slot = randomized(site_a)
    detail = reverse("participant_detail", args=[participant.study_id])

    client.force_login(users["coordinator"])
    page = client.get(detail).content.decode()
    assert f'data-arm="{slot.arm}"' in page
    assert ARM_LABELS[slot.arm] in page
    assert 'id="randomize"' not in page  # no randomize permission
    assert client.get(allocation_url(participant)).status_code == 200

    client.force_login(users["coordinator2"])
    assert client.get(detail).status_code == 404
    assert client.get(allocation_url(participant)).status_code == 404
    pdf = reverse("randomization:allocation_pdf", args=[participant.study_id])
    assert client.get(pdf).status_code == 404


@pytest.mark.django_db
def test_participant_page_offers_randomize_to_the_randomizer_only_when_consented(
    client, users, site_a, active_list, consented, screen
):
    waiting = consented(site_a)
    eligible = screen(users["coordinator"], site_a)
    client.force_login(users["randomizer"])
    page = client.get(reverse("participant_detail", args=[waiting.study_id]))
    assert f'href="{randomize_url(waiting)}"' in page.content.decode()
    page = client.get(reverse("participant_detail", args=[eligible.study_id]))
    assert 'id="randomize"' not in page.content.decode()
    assert 'id="no-allocation"' in page.content.decode()

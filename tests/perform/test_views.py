"""Trial-core pages: forms re-render with field errors, services do the writes."""

import datetime

import pytest
from django.urls import reverse

from infrastructure import pagination
from perform.models import Participant, ParticipantStatus
from tests.clock import today
from tests.conftest import eligible_answers


def screening_post(site, **overrides):
    data = {
        "site": site.code,
        "screening_date": (today() - datetime.timedelta(days=1)).isoformat(),
        "age_at_screening": "70",
        "sex": "male",
        "fracture_status": "complete",
        "screening_notes": "",
    }
    for code, answer in eligible_answers().items():
        data[f"criterion_{code}"] = "yes" if answer else "no"
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_coordinator_screens_eligible_patient_and_is_sent_to_its_page(
    client, users, site_a
):
    client.force_login(users["coordinator"])
    response = client.post(reverse("participant_screen"), screening_post(site_a))
    participant = Participant.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "participant_detail", args=[participant.study_id]
    )
    assert participant.status == ParticipantStatus.ELIGIBLE
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b"PRF-TOR-0001" in page.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("age_at_screening", "130", "Ensure this value is less than or equal to 120."),
        ("age_at_screening", "", "This field is required."),
        ("screening_date", "2999-01-01", "The date cannot be in the future."),
        ("sex", "robot", "Choose one of: female, male, other."),
        ("year_of_birth", "1900", "Year of birth 1900 gives age"),
        (
            "criterion_age_adult",
            "maybe",
            "Answer yes (true), no (false) or not yet known (null).",
        ),
    ],
)
def test_screening_form_rerenders_with_field_error_and_saves_nothing(
    client, users, site_a, field, value, message
):
    client.force_login(users["coordinator"])
    response = client.post(
        reverse("participant_screen"), screening_post(site_a, **{field: value})
    )
    assert response.status_code == 200
    assert message in response.context["form"].errors[field][0]
    assert Participant.objects.count() == 0


@pytest.mark.django_db
def test_minor_cannot_meet_the_age_criterion(client, users, site_a):
    client.force_login(users["coordinator"])
    response = client.post(
        reverse("participant_screen"), screening_post(site_a, age_at_screening="16")
    )
    assert response.status_code == 200
    assert response.context["form"].errors["criterion_age_adult"] == [
        "The age entered is 16: this criterion cannot be met."
    ]


@pytest.mark.django_db
def test_coordinator_cannot_screen_at_another_site(client, users, site_a, site_b):
    client.force_login(users["coordinator"])
    response = client.post(reverse("participant_screen"), screening_post(site_b))
    assert response.status_code == 200
    assert response.context["form"].errors["site"] == [
        "You cannot screen patients at site HAM."
    ]
    assert Participant.objects.count() == 0


@pytest.mark.django_db
def test_consent_moves_eligible_participant_to_consented(client, users, site_a, screen):
    participant = screen(users["coordinator"], site_a)
    client.force_login(users["coordinator"])
    url = reverse("participant_consent", args=[participant.study_id])
    day_before_screening = participant.screening_date - datetime.timedelta(days=1)
    bad = client.post(
        url,
        {
            "decision_date": day_before_screening.isoformat(),
            "form_version": "v2.1",
            "obtained_by": "Dr Who",
        },
    )
    assert bad.status_code == 200
    assert "before screening" in bad.context["form"].errors["decision_date"][0]
    good = client.post(
        url,
        {
            "decision_date": today().isoformat(),
            "form_version": "v2.1",
            "obtained_by": "Dr Who",
        },
    )
    assert good.status_code == 302
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.CONSENTED
    # A second consent is refused with a clear error, not a 500.
    again = client.post(
        url,
        {
            "decision_date": today().isoformat(),
            "form_version": "v2.1",
            "obtained_by": "Dr Who",
        },
    )
    assert again.status_code == 200
    assert "Consent can only be recorded for an eligible participant" in str(
        again.context["form"].non_field_errors()
    )


@pytest.mark.django_db
def test_other_sites_participant_is_404(client, users, site_a, screen):
    participant = screen(users["coordinator"], site_a)
    client.force_login(users["coordinator2"])
    for name in (
        "participant_detail",
        "participant_consent",
        "participant_screening_edit",
    ):
        assert client.get(reverse(name, args=[participant.study_id])).status_code == 404


@pytest.mark.django_db
def test_participant_list_filters_and_paginates(
    client, users, site_a, screen, monkeypatch
):
    monkeypatch.setattr(pagination, "PAGE_SIZE", 25)
    for _ in range(30):
        screen(users["coordinator"], site_a)
    screen(
        users["coordinator"],
        site_a,
        answers=eligible_answers() | {"active_infection": True},
    )
    client.force_login(users["coordinator"])
    first = client.get(reverse("participant_list"))
    assert first.context["page"].paginator.count == 31
    assert len(first.context["page"].object_list) == 25
    ineligible = client.get(reverse("participant_list"), {"status": "ineligible"})
    assert [p.study_id for p in ineligible.context["page"]] == ["PRF-TOR-0031"]
    search = client.get(reverse("participant_list"), {"q": "0007"})
    assert [p.study_id for p in search.context["page"]] == ["PRF-TOR-0007"]


@pytest.mark.django_db
def test_screening_summary_counts_the_flow(client, users, site_a, site_b, screen):
    screen(users["coordinator"], site_a)
    screen(
        users["coordinator"],
        site_a,
        answers=eligible_answers() | {"active_infection": True},
    )
    screen(users["coordinator2"], site_b, answers={})
    client.force_login(users["datamanager"])
    summary = client.get(reverse("screening_summary")).context["summary"]
    assert (
        summary.screened,
        summary.ineligible,
        summary.pending,
        summary.eligible,
    ) == (3, 1, 1, 1)
    assert summary.ineligibility_reasons == [
        ("Active infection at the surgical site", 1)
    ]


@pytest.mark.django_db
def test_screening_log_csv_lists_own_site_with_exclusion_reasons(
    client, users, site_a, site_b, screen
):
    screen(
        users["coordinator"],
        site_a,
        answers=eligible_answers() | {"active_infection": True},
    )
    screen(users["coordinator2"], site_b)
    client.force_login(users["coordinator"])
    response = client.get(reverse("screening_log"), {"format": "csv"})
    assert response.status_code == 200
    lines = response.content.decode().strip().splitlines()
    assert lines[0].startswith("study_id,site,screening_date")
    assert len(lines) == 2, "only the coordinator's own site"
    assert lines[1].startswith("PRF-TOR-0001,TOR,")
    assert "Active infection at the surgical site" in lines[1]

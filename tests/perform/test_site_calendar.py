"""Clinical dates are judged on the site's calendar, not the server's (UTC).

At 02:00 UTC it is still the evening before in Toronto: the UTC date is
tomorrow there, and must be refused as a future date, on the web page, in the
API and in the services. At 23:30 UTC it is already the next day in Hamburg:
that date is today there, and must be accepted. The date offered by default
on the screening and consent pages is the site's today.
"""

import datetime

import pytest
import time_machine
from django.urls import reverse

from perform import services
from perform.exceptions import TrialError
from perform.models import Participant
from tests.conftest import eligible_answers
from tests.factories import api_client_for
from tests.perform.test_views import screening_post

UTC = datetime.UTC
FUTURE = "The date cannot be in the future."
# 21:00 on 9 March in Toronto (UTC-5); 03:00 on 10 March in Hamburg (UTC+1).
TORONTO_EVENING = datetime.datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
# 18:30 on 9 March in Toronto; 00:30 on 10 March in Hamburg.
HAMBURG_AFTER_MIDNIGHT = datetime.datetime(2026, 3, 9, 23, 30, tzinfo=UTC)
MARCH_9, MARCH_10 = datetime.date(2026, 3, 9), datetime.date(2026, 3, 10)


def api_screening(site_code: str, day: datetime.date) -> dict:
    return {
        "site": site_code,
        "screening_date": day.isoformat(),
        "age_at_screening": 70,
        "sex": "male",
        "fracture_status": "complete",
        "answers": eligible_answers(),
    }


@pytest.mark.django_db
def test_the_utc_date_is_a_future_date_in_toronto_in_the_evening(client, users, site_a):
    with time_machine.travel(TORONTO_EVENING, tick=False):
        client.force_login(users["coordinator"])
        page = client.get(reverse("participant_screen"))
        assert page.context["form"]["screening_date"].value() == MARCH_9

        response = client.post(
            reverse("participant_screen"),
            screening_post(site_a, screening_date=MARCH_10.isoformat()),
        )
        assert response.status_code == 200
        assert response.context["form"].errors["screening_date"] == [FUTURE]

        response = api_client_for(users["coordinator"]).post(
            "/api/v1/participants/", api_screening("TOR", MARCH_10), format="json"
        )
        assert response.status_code == 400
        assert response.json() == {"screening_date": [FUTURE]}

        with pytest.raises(TrialError, match="in the future"):
            services.participant_screen(
                actor=users["coordinator"],
                site=site_a,
                screening_date=MARCH_10,
                age_at_screening=70,
                sex="male",
                answers=eligible_answers(),
            )
        assert not Participant.objects.exists()

        # Today in Toronto is the 9th: accepted, and consent that day too.
        response = client.post(
            reverse("participant_screen"),
            screening_post(site_a, screening_date=MARCH_9.isoformat()),
        )
        participant = Participant.objects.get()
        assert participant.screening_date == MARCH_9
        consent_url = reverse("participant_consent", args=[participant.study_id])
        assert client.get(consent_url).context["form"]["decision_date"].value() == (
            MARCH_9
        )
        response = client.post(
            consent_url,
            {"decision_date": "2026-03-10", "form_version": "v1", "obtained_by": "A"},
        )
        assert response.context["form"].errors["decision_date"] == [FUTURE]
        with pytest.raises(TrialError, match="in the future"):
            services.participant_consent_record(
                actor=users["coordinator"],
                participant=participant,
                decision_date=MARCH_10,
                form_version="v1",
                obtained_by="Dr A",
            )
        participant.refresh_from_db()
        assert participant.status == "eligible"


@pytest.mark.django_db
def test_hamburg_enters_its_own_today_just_after_its_midnight(client, users, site_b):
    coordinator = users["coordinator2"]
    with time_machine.travel(HAMBURG_AFTER_MIDNIGHT, tick=False):
        client.force_login(coordinator)
        page = client.get(reverse("participant_screen"))
        assert page.context["form"]["screening_date"].value() == MARCH_10

        response = api_client_for(coordinator).post(
            "/api/v1/participants/", api_screening("HAM", MARCH_10), format="json"
        )
        assert response.status_code == 201, response.json()
        participant = Participant.objects.get()
        services.participant_consent_record(
            actor=coordinator,
            participant=participant,
            decision_date=MARCH_10,
            form_version="v1",
            obtained_by="Dr B",
        )
        participant.refresh_from_db()
        assert participant.status == "consented"

        # Correcting the record is judged on Hamburg's calendar too.
        with pytest.raises(TrialError, match="in the future"):
            services.participant_screening_update(
                actor=coordinator,
                participant=participant,
                reason="typo",
                screening_date=datetime.date(2026, 3, 11),
                age_at_screening=70,
                sex="male",
                answers=eligible_answers(),
            )

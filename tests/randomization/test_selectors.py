"""Reads of randomization data that other floors build on."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from perform.models import Participant
from randomization.models import Slot
from randomization.selectors import randomization_dates


@pytest.mark.django_db
def test_randomization_date_is_the_sites_local_date_of_the_allocation(randomized):
    # 21:30 in Toronto is already 01:30 on the next day in UTC.
    evening = datetime.datetime(2026, 3, 9, 21, 30, tzinfo=ZoneInfo("America/Toronto"))
    Slot.objects.filter(participant=randomized).update(allocated_at=evening)
    assert randomization_dates(Participant.objects.all()) == {
        randomized.pk: datetime.date(2026, 3, 9)
    }

"""Bulk builders for tests that need many participants and forms quickly
(inserted directly, as the services would leave them)."""

import datetime

from django.utils import timezone

from crf.models import FormStatus
from perform.models import Participant, ParticipantStatus, Site
from tests.clock import today

DAY = datetime.timedelta(days=1)


def participants_add(site, count, *, actor):
    """``count`` randomized participants at ``site`` in one insert, with study
    IDs and sequences as the screening service issues them."""
    site.refresh_from_db()
    start = site.last_participant_number
    now = timezone.now()
    rows = Participant.objects.bulk_create(
        Participant(
            study_id=f"PRF-{site.code}-{n:04d}",
            site=site,
            sequence=n,
            screening_date=today() - 400 * DAY,
            age_at_screening=64,
            sex="female",
            fracture_status="impending",
            status=ParticipantStatus.RANDOMIZED,
            status_changed_at=now,
            created_by=actor,
        )
        for n in range(start + 1, start + count + 1)
    )
    Site.objects.filter(pk=site.pk).update(last_participant_number=start + count)
    return rows


def form_kwargs(participant, actor, status=FormStatus.COMPLETE, **fields):
    return {
        "participant": participant,
        "status": status,
        "created_by": actor,
        "updated_by": actor,
        **fields,
    }

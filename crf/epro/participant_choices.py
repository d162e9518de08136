"""What a participant decides on the survey pages (PROTOCOL §13): no more
messages about questionnaires, and the language the questionnaires are shown
in. Writes, each audited as made by the participant (pghistory context)."""

import datetime

import pghistory
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from crf.models import ContactPreference, PromResponse
from perform.models import Participant

PARTICIPANT_AUDIT_NAME = "Participant (survey page)"


@transaction.atomic
def contact_opt_out(
    *, participant: Participant, now: datetime.datetime | None = None
) -> bool:
    """Record that ``participant`` asked for no more messages: the sweep sends
    no invitation or reminder from now on (``ContactPreference.
    messages_allowed``). The link keeps working: opting out of messages is not
    declining the questionnaires. Returns False when there was nothing to stop
    (no contact preference, or opted out already)."""
    contact = (
        ContactPreference.objects.select_for_update()
        .filter(participant=participant)
        .first()
    )
    if contact is None or contact.opted_out_at is not None:
        return False
    contact.opted_out_at = now or timezone.now()
    with pghistory.context(
        username=PARTICIPANT_AUDIT_NAME,
        reason="The participant asked for no more messages (survey page).",
    ):
        contact.save(update_fields=["opted_out_at", "updated_at"])
    return True


@transaction.atomic
def response_language_set(response: PromResponse, language: str) -> PromResponse:
    """Show ``response`` in ``language`` (one of ``settings.LANGUAGES``) from
    now on; a submitted response keeps the language it was answered in."""
    current = PromResponse.objects.select_for_update().get(pk=response.pk)
    if current.is_submitted or language not in dict(settings.LANGUAGES):
        return current
    if current.language != language:
        current.language = language
        with pghistory.context(username=PARTICIPANT_AUDIT_NAME):
            current.save(update_fields=["language"])
    return current

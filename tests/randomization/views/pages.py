"""What the page tests share: arm labels, page URLs, used slots, messages."""

from django.urls import reverse

from randomization.models import Slot

ARM_LABELS = {
    "IF": "Internal fixation",
    "RER": "Resection with endoprosthetic reconstruction",
}


def randomize_url(participant):
    return reverse("randomization:randomize", args=[participant.study_id])


def allocation_url(participant):
    return reverse("randomization:allocation", args=[participant.study_id])


def used_slots():
    return Slot.objects.filter(participant__isnull=False)


def messages_of(response):
    return [str(m) for m in response.context["messages"]]

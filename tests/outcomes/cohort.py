"""Hand-built cohorts for the outcome tests: participants randomized to a
chosen arm on a chosen date, and complete forms, inserted as the services
would leave them."""

import datetime
from zoneinfo import ZoneInfo

from crf.models import FormStatus
from randomization import services as rnd
from randomization.models import Slot
from tests.crf.bulk import form_kwargs, participants_add


def allocation_list(statistician, sites, *, slots=40):
    """An active allocation list for ``sites`` (both fracture strata)."""
    generated = rnd.list_generate(
        actor=statistician,
        name="Outcomes",
        seed=7,
        slots_per_stratum=slots,
        sites=sites,
    )
    rnd.list_activate(actor=statistician, allocation_list=generated)
    return generated


def randomize(participant, *, arm: str, on: datetime.date, actor) -> Slot:
    """Give ``participant`` the first free slot of ``arm`` in its stratum, as
    allocated at noon site time on ``on``."""
    slot = (
        Slot.objects.filter(
            stratum__site=participant.site,
            stratum__levels__fracture_status=participant.fracture_status,
            participant__isnull=True,
            arm=arm,
        )
        .order_by("sequence")
        .first()
    )
    zone = ZoneInfo(participant.site.time_zone)
    slot.participant = participant
    slot.allocated_at = datetime.datetime.combine(on, datetime.time(12), tzinfo=zone)
    slot.allocated_by = actor
    slot.save()
    return slot


class Cohort:
    """``Cohort(site, actor).add("IF", on=date)`` → a randomized participant;
    ``cohort.form(Model, participant, **fields)`` → a complete form."""

    def __init__(self, site, actor):
        self.site = site
        self.actor = actor

    def add(self, arm: str, *, on: datetime.date, **fields):
        (participant,) = participants_add(self.site, 1, actor=self.actor)
        for name, value in fields.items():
            setattr(participant, name, value)
        if fields:
            participant.save()
        randomize(participant, arm=arm, on=on, actor=self.actor)
        return participant

    def form(self, model, participant, status=FormStatus.COMPLETE, **fields):
        return model.objects.create(
            **form_kwargs(participant, self.actor, status=status, **fields)
        )

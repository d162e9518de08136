"""The data of the randomize benchmark: two sites, their staff, an active
allocation list (site × fracture status: four strata) and consented eligible
participants, one per stratum through the trial services and the rest bulk
copies of those."""

import datetime
import random

from benchmarks import common

SITES = (("TOR", "Toronto (bench)"), ("HAM", "Hamburg (bench)"))
FRACTURE_STATUSES = ("impending", "complete")
WARM_UP = 21  # single-thread calls before the runs; all but the first measured
SEED = 20250201


def seed(*, batches: int, per_batch: int):
    """Return (randomizer, warm-up participants, ``batches`` service batches,
    bare-loop participants); every batch has the four strata interleaved.

    One consented participant per stratum is made through the services; the
    others are bulk copies of it with the same rows (participant, eligibility
    answers, consent, status history), which is what the services would write
    and many times faster.
    """
    from django.utils import timezone

    from perform import roles
    from perform import services as core
    from perform.models import EligibilityCriterion, Site
    from randomization import services

    def user(username, role, sites=()):
        return common.user_with_role(
            username, role, sites, email=f"{username}@example.org"
        )

    today = timezone.localdate()
    sites = [
        Site.objects.create(
            code=code,
            name=name,
            country="Bench",
            time_zone="UTC",
            activation_date=today - datetime.timedelta(days=30),
            target_enrolment=100,
        )
        for code, name in SITES
    ]
    coordinators = {
        site.pk: user(f"coord_{site.code.lower()}", roles.SITE_COORDINATOR, [site])
        for site in sites
    }
    randomizer = user("randomizer", roles.RANDOMIZER)
    statistician = user("statistician", roles.STATISTICIAN)
    strata = [(site, status) for site in sites for status in FRACTURE_STATUSES]
    # Service calls, plus the bare loop's (released after each run), plus margin.
    per_stratum = (batches * per_batch + WARM_UP) // len(strata) + per_batch // 4
    draft = services.list_generate(
        actor=statistician,
        name="Bench list",
        seed=SEED,
        sites=sites,
        slots_per_stratum=per_stratum + 50,
    )
    services.list_activate(actor=statistician, allocation_list=draft)

    answers = {
        c.code: c.kind == EligibilityCriterion.Kind.INCLUSION
        for c in EligibilityCriterion.objects.filter(is_active=True)
    }
    templates = []
    for site, fracture_status in strata:
        coordinator = coordinators[site.pk]
        participant = core.participant_screen(
            actor=coordinator,
            site=site,
            screening_date=today,
            age_at_screening=64,
            sex="female",
            fracture_status=fracture_status,
            answers=answers,
        )
        core.participant_consent_record(
            actor=coordinator,
            participant=participant,
            decision_date=today,
            form_version="bench",
            obtained_by="Bench",
        )
        participant.refresh_from_db()  # the service saved a locked copy
        templates.append(participant)

    total = (batches + 1) * per_batch + WARM_UP
    people = templates + participants_copy(templates, total - len(templates))
    rng = random.Random(SEED)
    rng.shuffle(people)
    warm_up, people = people[:WARM_UP], people[WARM_UP:]
    batched = [people[i * per_batch : (i + 1) * per_batch] for i in range(batches)]
    bare = people[batches * per_batch :]
    return randomizer, warm_up, batched, bare


def participants_copy(templates: list, count: int) -> list:
    """``count`` copies of the templates in turn, with their related rows, each
    with the next study ID of its site."""
    import copy

    from django.conf import settings
    from django.db import transaction

    from perform.models import (
        ConsentRecord,
        EligibilityAnswer,
        Participant,
        ParticipantStatusChange,
        Site,
    )

    related = (EligibilityAnswer, ConsentRecord, ParticipantStatusChange)
    rows = {
        t.pk: {model: list(model.objects.filter(participant=t)) for model in related}
        for t in templates
    }
    with transaction.atomic():
        sites = {
            s.pk: s
            for s in Site.objects.select_for_update().filter(
                pk__in={t.site_id for t in templates}
            )
        }
        copies, origin = [], []
        for i in range(count):
            template = templates[i % len(templates)]
            site = sites[template.site_id]
            site.last_participant_number += 1
            clone = copy.copy(template)
            clone.pk = clone.id = None
            clone.sequence = site.last_participant_number
            clone.study_id = settings.TRIAL["STUDY_ID_FORMAT"].format(
                site=site.code, sequence=clone.sequence
            )
            copies.append(clone)
            origin.append(template.pk)
        Participant.objects.bulk_create(copies, batch_size=1000)
        for site in sites.values():
            site.save(update_fields=["last_participant_number"])
        for model in related:
            new_rows = []
            for clone, template_pk in zip(copies, origin, strict=True):
                for row in rows[template_pk][model]:
                    row = copy.copy(row)
                    row.pk = row.id = None
                    row.participant = clone
                    new_rows.append(row)
            model.objects.bulk_create(new_rows, batch_size=2000)
    return copies


def data_sizes() -> list[tuple[str, int]]:
    from pghistory.models import Events

    from perform.models import (
        ConsentRecord,
        EligibilityAnswer,
        Participant,
        ParticipantStatusChange,
    )
    from randomization.models import Slot, Stratum

    return [
        ("participants", Participant.objects.count()),
        ("eligibility answers", EligibilityAnswer.objects.count()),
        ("consents", ConsentRecord.objects.count()),
        ("status changes", ParticipantStatusChange.objects.count()),
        ("strata", Stratum.objects.count()),
        ("slots", Slot.objects.count()),
        ("used slots", Slot.objects.filter(participant__isnull=False).count()),
        ("audit events", Events.objects.count()),
    ]

"""CRF form states through the services: draft, complete, reason for change,
signature, lock, concurrent edits, stored scores, audit."""

import pytest
from django.core.exceptions import PermissionDenied
from pghistory.models import Events

from crf.exceptions import (
    FormIncomplete,
    FormLocked,
    ReasonRequired,
    SignatureRefused,
    StaleForm,
)
from crf.forms import services
from crf.models import Baseline, FormStatus, Operative
from tests.clock import today

COMPLETE_OPERATIVE = {
    "procedure": "IF",
    "implant": "Cephalomedullary nail",
    "duration_min": 95,
    "blood_loss_ml": 400,
    "transfusion_units": 1,
}


def complete_operative():
    """A complete operative form, operated today (asked when the test runs)."""
    return {"surgery_date": today(), **COMPLETE_OPERATIVE}


@pytest.fixture
def participant(randomized):
    return randomized


def new_operative(participant, **fields):
    return Operative(participant=participant, **fields)


@pytest.mark.django_db
def test_draft_may_be_incomplete_but_complete_may_not(users, participant):
    draft = services.form_save(
        actor=users["coordinator"],
        form=new_operative(participant, procedure="IF"),
        complete=False,
    )
    assert draft.status == FormStatus.DRAFT and draft.version == 1
    draft.duration_min = 90
    with pytest.raises(FormIncomplete) as error:
        services.form_save(actor=users["coordinator"], form=draft, complete=True)
    assert error.value.missing == [
        "surgery date",
        "implant",
        "Blood loss (mL)",
        "Transfusion (units)",
    ]
    assert Operative.objects.get().duration_min is None  # nothing half-saved


@pytest.mark.django_db
def test_editing_a_complete_form_needs_a_reason_and_is_audited(users, participant):
    form = services.form_save(
        actor=users["coordinator"],
        form=new_operative(participant, **complete_operative()),
        complete=True,
    )
    form.blood_loss_ml = 650
    with pytest.raises(ReasonRequired):
        services.form_save(actor=users["coordinator"], form=form, complete=True)
    form = services.form_save(
        actor=users["coordinator"],
        form=Operative.objects.get(pk=form.pk) and form,
        complete=True,
        reason="Anaesthetic chart re-read",
    )
    assert form.version == 2
    event = (
        Events.objects.tracks(form)
        .filter(pgh_label="update")
        .order_by("-pgh_created_at")
        .first()
    )
    assert event.pgh_diff["blood_loss_ml"] == [400, 650]
    assert event.pgh_context["reason"] == "Anaesthetic chart re-read"
    assert event.pgh_context["username"] == "coordinator"


@pytest.mark.django_db
def test_signature_needs_the_password_and_any_later_edit_undoes_it(
    users, participant, password
):
    form = services.form_save(
        actor=users["coordinator"],
        form=new_operative(participant, **complete_operative()),
        complete=True,
    )
    with pytest.raises(SignatureRefused, match="password is not correct"):
        services.form_sign(actor=users["investigator"], form=form, password="wrong")
    with pytest.raises(PermissionDenied):
        services.form_sign(actor=users["coordinator"], form=form, password=password)
    signed = services.form_sign(
        actor=users["investigator"], form=form, password=password
    )
    assert (
        signed.status == FormStatus.SIGNED and signed.signed_by == users["investigator"]
    )
    signed.implant = "Long cephalomedullary nail"
    edited = services.form_save(
        actor=users["coordinator"],
        form=signed,
        complete=True,
        reason="Implant length corrected",
    )
    assert edited.status == FormStatus.COMPLETE
    assert edited.signed_at is None and edited.signed_by is None


@pytest.mark.django_db
def test_locked_form_is_read_only_until_the_data_manager_unlocks_it(
    users, participant, password
):
    form = services.form_save(
        actor=users["coordinator"],
        form=new_operative(participant, **complete_operative()),
        complete=True,
    )
    services.form_lock(actor=users["datamanager"], form=form, locked=True)
    form.duration_min = 100
    with pytest.raises(FormLocked):
        services.form_save(
            actor=users["coordinator"], form=form, complete=True, reason="x"
        )
    with pytest.raises(FormLocked):
        services.form_sign(actor=users["investigator"], form=form, password=password)
    with pytest.raises(PermissionDenied):
        services.form_lock(
            actor=users["coordinator"], form=form, locked=False, reason="please"
        )
    with pytest.raises(ReasonRequired):
        services.form_lock(actor=users["datamanager"], form=form, locked=False)
    services.form_lock(
        actor=users["datamanager"],
        form=form,
        locked=False,
        reason="Site query answered; correction allowed",
    )
    saved = services.form_save(
        actor=users["coordinator"],
        form=form,
        complete=True,
        reason="Duration from theatre log",
    )
    assert saved.duration_min == 100 and not saved.locked


@pytest.mark.django_db
def test_a_save_based_on_an_old_version_is_refused(users, participant):
    form = services.form_save(
        actor=users["coordinator"],
        form=new_operative(participant, procedure="IF"),
        complete=False,
    )
    mine = Operative.objects.get(pk=form.pk)
    theirs = Operative.objects.get(pk=form.pk)
    theirs.implant = "Plate"
    services.form_save(
        actor=users["investigator"], form=theirs, complete=False, based_on_version=1
    )
    mine.implant = "Nail"
    with pytest.raises(StaleForm):
        services.form_save(
            actor=users["coordinator"], form=mine, complete=False, based_on_version=1
        )
    assert Operative.objects.get().implant == "Plate"


@pytest.mark.django_db
def test_another_sites_coordinator_cannot_save_a_form(users, participant):
    with pytest.raises(PermissionDenied):
        services.form_save(
            actor=users["coordinator2"], form=new_operative(participant), complete=False
        )
    with pytest.raises(PermissionDenied):
        services.form_save(
            actor=users["datamanager"], form=new_operative(participant), complete=False
        )
    assert not Operative.objects.exists()


@pytest.mark.django_db
def test_scores_are_computed_and_stored_with_the_form(users, participant):
    form = Baseline(
        participant=participant,
        mirels_site=3,
        mirels_pain=2,
        mirels_lesion=3,
        mirels_size=1,
        msts_pain=4,
        msts_function=3,
        msts_emotional_acceptance=5,
        msts_supports=2,
        msts_walking=3,
        msts_gait=4,
        eq5d_mobility=1,
        eq5d_self_care=1,
        eq5d_usual_activities=2,
        eq5d_pain_discomfort=3,
        eq5d_anxiety_depression=5,
        bpi_general_activity=7,
        bpi_mood=5,
        bpi_walking_ability=8,
        bpi_normal_work=6,
        bpi_relations=2,
        bpi_sleep=4,
        bpi_enjoyment=3,
        **{
            f"tess_{n}": (5 if n <= 10 else 3 if n <= 20 else None)
            for n in range(1, 31)
        },
    )
    saved = services.form_save(actor=users["coordinator"], form=form, complete=False)
    saved.refresh_from_db()
    assert saved.mirels_total == 9
    assert (saved.msts_total, float(saved.msts_percent)) == (21, 70.0)
    assert float(saved.tess_score) == 75.0
    assert saved.eq5d_profile == "11235"
    assert float(saved.bpi_interference) == 5.0


@pytest.mark.django_db
def test_a_complete_death_form_marks_the_participant_died(users, randomized):
    from crf.models import Death
    from perform.models import ParticipantStatus

    draft = services.form_save(
        actor=users["coordinator"],
        form=Death(participant=randomized, death_date=today()),
        complete=False,
    )
    randomized.refresh_from_db()
    assert randomized.status == ParticipantStatus.RANDOMIZED  # a draft changes nothing
    draft.primary_cause = "progression"
    services.form_save(actor=users["coordinator"], form=draft, complete=True)
    randomized.refresh_from_db()
    assert randomized.status == ParticipantStatus.DIED
    assert randomized.status_changes.last().changed_by == users["coordinator"]

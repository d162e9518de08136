"""PROTOCOL §7's cross-form date rules are the service's: ``form_save``
refuses a save that breaks one (``ValidationError``, field → messages), for
drafts too, before anything is written or audited, whoever calls it (the web
pages and the API show its refusal: test_views.py, test_api.py)."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from pghistory.models import Events

from crf.forms import services
from crf.models import (
    Discharge,
    FollowUp,
    LocalRecurrence,
    Operative,
    Reoperation,
)
from crf.schedule.visits import site_today

DAY = datetime.timedelta(days=1)


@pytest.fixture
def today():
    return site_today("America/Toronto")  # site A


@pytest.fixture
def participant(users, site_a, screen, randomize, today):
    """Screened 40 days ago, randomized 30 days ago."""
    screened = screen(users["coordinator"], site_a, screening_date=today - 40 * DAY)
    return randomize(screened, on=today - 30 * DAY)


def operative(participant, surgery_date):
    return Operative(
        participant=participant,
        surgery_date=surgery_date,
        procedure="IF",
        implant="Cephalomedullary nail",
        duration_min=95,
        blood_loss_ml=400,
        transfusion_units=1,
    )


@pytest.fixture
def operated(users, participant, today):
    """Operated on 20 days ago (a complete operative form)."""
    return services.form_save(
        actor=users["coordinator"],
        form=operative(participant, today - 20 * DAY),
        complete=True,
    )


def audit_rows() -> int:
    return Events.objects.filter(pgh_model__startswith="crf.").count()


def refusal(actor, form, *, complete, reason=""):
    """The service's refusal of ``form``: field → messages; nothing audited."""
    before = audit_rows()
    with pytest.raises(ValidationError) as error:
        services.form_save(actor=actor, form=form, complete=complete, reason=reason)
    assert audit_rows() == before
    return error.value.message_dict


@pytest.mark.django_db
@pytest.mark.parametrize("complete", [False, True], ids=["draft", "complete"])
def test_surgery_before_randomization_is_refused(users, participant, today, complete):
    errors = refusal(
        users["coordinator"],
        operative(participant, today - 31 * DAY),
        complete=complete,
    )
    randomized_on = today - 30 * DAY
    assert errors == {
        "surgery_date": [
            f"Surgery cannot be before randomization ({randomized_on:%d %b %Y})."
        ]
    }
    assert not Operative.objects.exists()
    services.form_save(
        actor=users["coordinator"],
        form=operative(participant, randomized_on),
        complete=complete,
    )  # on the day of randomization: accepted


@pytest.mark.django_db
@pytest.mark.parametrize("complete", [False, True], ids=["draft", "complete"])
def test_a_reoperation_before_surgery_is_refused(users, operated, complete):
    errors = refusal(
        users["coordinator"],
        Reoperation(
            participant=operated.participant,
            reoperation_date=operated.surgery_date - DAY,
            reason=Reoperation.Reason.INFECTION,
            procedure="Debridement",
        ),
        complete=complete,
    )
    assert errors == {
        "reoperation_date": [
            "A reoperation cannot be before the index surgery "
            f"({operated.surgery_date:%d %b %Y})."
        ]
    }
    assert not Reoperation.objects.exists()


@pytest.mark.django_db
def test_a_local_recurrence_before_surgery_is_refused(users, operated):
    form = LocalRecurrence(
        participant=operated.participant,
        recurrence_date=operated.surgery_date - DAY,
        detected_by=LocalRecurrence.Detection.MRI,
    )
    errors = refusal(users["coordinator"], form, complete=False)
    assert errors == {
        "recurrence_date": [
            "Local recurrence or progression cannot be before the index surgery "
            f"({operated.surgery_date:%d %b %Y})."
        ]
    }
    assert not LocalRecurrence.objects.exists()
    form.recurrence_date = operated.surgery_date
    services.form_save(actor=users["coordinator"], form=form, complete=True)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "reported",
    [{"implant_failure": True}, {"local_progression": True}],
    ids=["implant-failure", "local-progression"],
)
def test_a_follow_up_reporting_failure_before_surgery_is_refused(
    users, operated, reported
):
    errors = refusal(
        users["coordinator"],
        FollowUp(
            participant=operated.participant,
            visit="2w",
            visit_date=operated.surgery_date - DAY,
            vital_status=FollowUp.VitalStatus.ALIVE,
            **reported,
        ),
        complete=True,
    )
    assert errors == {
        "visit_date": [
            "A visit reporting implant failure or local progression cannot be "
            f"before surgery ({operated.surgery_date:%d %b %Y})."
        ]
    }
    assert not FollowUp.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("stored", "label"),
    [
        (
            lambda p, day: Discharge(
                participant=p, discharge_date=day, destination="home"
            ),
            "discharge",
        ),
        (
            lambda p, day: Reoperation(participant=p, reoperation_date=day),
            "reoperation",
        ),
        (
            lambda p, day: LocalRecurrence(participant=p, recurrence_date=day),
            "local recurrence or progression",
        ),
    ],
    ids=["discharge", "reoperation", "local-recurrence"],
)
def test_surgery_cannot_move_after_a_stored_event(users, operated, stored, label):
    """Our choice: the Operative form may not make a stored event (draft or
    complete) pre-surgery; the site corrects that form first."""
    event_day = operated.surgery_date + 3 * DAY
    services.form_save(
        actor=users["coordinator"],
        form=stored(operated.participant, event_day),
        complete=False,
    )
    operated.surgery_date = event_day + DAY
    errors = refusal(
        users["coordinator"], operated, complete=True, reason="Theatre log re-read"
    )
    assert errors == {
        "surgery_date": [
            f"Surgery cannot be after the {label} ({event_day:%d %b %Y}): correct "
            "that form first."
        ]
    }
    current = Operative.objects.get()
    assert (current.surgery_date, current.version) == (event_day - 3 * DAY, 1)
    operated.surgery_date = event_day  # the same day is fine
    saved = services.form_save(
        actor=users["coordinator"],
        form=operated,
        complete=True,
        reason="Theatre log re-read",
    )
    assert saved.version == 2

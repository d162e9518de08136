"""Forms without questionnaires pass the ePRO checks of ``form_save``
untouched (``crf.epro.corrections``: only the baseline and follow-up forms
hold TESS, EQ-5D-5L and BPI items)."""

import pytest

from crf.forms import services
from crf.models import Operative, PromResponse
from tests import clock


@pytest.mark.django_db
def test_operative_form_saves_without_a_questionnaire_response(users, randomized):
    today = clock.today()
    form = services.form_save(
        actor=users["coordinator"],
        form=Operative(
            participant=randomized,
            surgery_date=today,
            procedure="IF",
            implant="Long cephalomedullary nail",
            duration_min=95,
            blood_loss_ml=300,
            transfusion_units=0,
        ),
        complete=True,
    )
    assert Operative.objects.get(pk=form.pk).surgery_date == today
    assert not PromResponse.objects.exists()
    # A change afterwards (with its reason) passes the same way.
    form.duration_min = 100
    services.form_save(
        actor=users["coordinator"], form=form, complete=True, reason="Theatre log"
    )
    assert Operative.objects.get(pk=form.pk).version == 2

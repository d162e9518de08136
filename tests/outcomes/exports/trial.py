"""The hand-built trial of the export tests (``test_build``): four
participants at site A and one at site B, every kind of form field, and each
of the six missing-data codes, inserted as the services would leave them.

All dates are in 2026, fixed, in the past at both sites:

  PRF-TOR-0001  IF,  randomized 01-10; Baseline (codes UNK, ND, ILL), Operative
                (signed) 01-12, Discharge 01-20, follow-up 2w 01-26 and 6w
                02-23 (draft; codes DEC, NA), AEs onset 01-15 and 03-01 (code
                DIED), Reoperation 02-10, Death 03-02.
  PRF-TOR-0002  RER, randomized 03-01; Operative 03-03, follow-up 2w missed
                (completed 03-20), Local recurrence 06-15.
  PRF-TOR-0003  screened only; a draft Baseline without a date.
  PRF-TOR-0004  IF, randomized 02-01; withdrew 02-15 refusing data use.
  PRF-HAM-0001  RER, randomized 02-10; Operative 02-12 (code UNK), follow-up
                2w 02-26, Deviation 02-11, lost to follow-up 05-01 (data use
                "no", which counts for withdrawal only).
"""

import datetime
from decimal import Decimal

from crf.models import (
    AdverseEvent,
    Baseline,
    Death,
    Discharge,
    FollowUp,
    LocalRecurrence,
    Operative,
    ProtocolDeviation,
    Reoperation,
    Withdrawal,
)
from perform.models import Participant
from tests.crf.bulk import participants_add
from tests.outcomes.cohort import Cohort, allocation_list

D = datetime.date
SIGNED, DRAFT = "signed", "draft"


def on(day: D) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC)


def export_trial_build(users, site_a, site_b):
    """Builds the trial of the module docstring."""
    allocation_list(users["statistician"], [site_a, site_b])
    tor = Cohort(site_a, users["coordinator"])
    ham = Cohort(site_b, users["coordinator2"])
    a1 = tor.add(
        "IF",
        on=D(2026, 1, 10),
        screening_date=D(2026, 1, 5),
        age_at_screening=71,
        sex="male",
        fracture_status="complete",
        status="died",
    )
    a2 = tor.add("RER", on=D(2026, 3, 1), screening_date=D(2026, 2, 20))
    (a3,) = participants_add(site_a, 1, actor=users["coordinator"])
    Participant.objects.filter(pk=a3.pk).update(
        status="screened",
        screening_date=D(2026, 4, 1),
        age_at_screening=80,
        sex="other",
        fracture_status="",
    )
    a4 = tor.add("IF", on=D(2026, 2, 1), screening_date=D(2026, 1, 30))
    b1 = ham.add(
        "RER",
        on=D(2026, 2, 10),
        screening_date=D(2026, 2, 5),
        age_at_screening=66,
        sex="male",
        status="lost_to_follow_up",
    )

    tor.form(
        Baseline,
        a1,
        assessment_date=D(2026, 1, 8),
        primary_cancer="other",
        primary_cancer_other="Melanoma",
        lesion_region="head_neck",
        fracture_status="complete",
        mirels_site=3,
        mirels_pain=2,
        mirels_lesion=1,
        mirels_size=3,
        mirels_total=9,
        bone_loss_percent=60,
        visceral_metastases=True,
        haemoglobin_g_l=112,
        asa=3,
        expected_survival_months=12,
        msts_pain=0,
        msts_percent=Decimal("50.0"),
        tess_1=4,
        eq5d_vas=70,
        eq5d_profile="12345",
        bpi_worst=7,
        bpi_interference=Decimal("2.25"),
        missing_codes={
            "primary_cancer_diagnosis": "UNK",
            "bone_metastases": "ND",
            "ecog": "ILL",
        },
    )
    tor.form(Baseline, a3, status=DRAFT, primary_cancer="breast")
    tor.form(
        Operative,
        a1,
        status=SIGNED,
        surgery_date=D(2026, 1, 12),
        procedure="IF",
        implant="Nail X",
        duration_min=95,
        blood_loss_ml=400,
        transfusion_units=0,
    )
    tor.form(Operative, a2, surgery_date=D(2026, 3, 3), procedure="RER", implant="")
    tor.form(Operative, a4, surgery_date=D(2026, 2, 3), procedure="IF")
    ham.form(
        Operative,
        b1,
        surgery_date=D(2026, 2, 12),
        procedure="RER",
        implant="Modular endoprosthesis",
        duration_min=200,
        blood_loss_ml=1200,
        missing_codes={"transfusion_units": "UNK"},
    )
    tor.form(
        Discharge,
        a1,
        discharge_date=D(2026, 1, 20),
        destination="rehabilitation",
        in_hospital_complications="Delirium, day 3",
    )
    tor.form(
        FollowUp,
        a1,
        visit="2w",
        visit_date=D(2026, 1, 26),
        vital_status="alive",
        ambulatory_status="aid",
        implant_failure=False,
        adjuvant_radiotherapy=True,
        tess_score=Decimal("62.5"),
    )
    tor.form(
        FollowUp,
        a1,
        status=DRAFT,
        visit="6w",
        visit_date=D(2026, 2, 23),
        vital_status="alive",
        missing_codes={"eq5d_vas": "DEC", "implant_failure": "NA"},
    )
    tor.form(
        FollowUp,
        a2,
        visit="2w",
        missed_reason="Admitted elsewhere",
        vital_status="alive",
        completed_at=on(D(2026, 3, 20)),
    )
    ham.form(FollowUp, b1, visit="2w", visit_date=D(2026, 2, 26), vital_status="alive")
    tor.form(
        AdverseEvent,
        a1,
        term="Wound infection",
        body_system="infections",
        onset_date=D(2026, 1, 15),
        awareness_date=D(2026, 1, 16),
        clavien_dindo="II",
        serious=False,
        relatedness="probable",
        expected=True,
        outcome="recovered",
        resolution_date=D(2026, 1, 30),
    )
    tor.form(
        AdverseEvent,
        a1,
        term="Pulmonary embolism",
        body_system="vascular",
        onset_date=D(2026, 3, 1),
        awareness_date=D(2026, 3, 1),
        clavien_dindo="IVa",
        serious=True,
        sae_life_threatening=True,
        relatedness="possible",
        expected=False,
        outcome="fatal",
        missing_codes={"resolution_date": "DIED"},
    )
    tor.form(
        Reoperation,
        a1,
        reoperation_date=D(2026, 2, 10),
        reason="infection",
        procedure="Debridement",
    )
    tor.form(LocalRecurrence, a2, recurrence_date=D(2026, 6, 15), detected_by="mri")
    tor.form(
        Death,
        a1,
        death_date=D(2026, 3, 2),
        primary_cause="surgical",
        cause_detail="Pulmonary embolism",
    )
    tor.form(
        Withdrawal,
        a4,
        kind="withdrawn",
        withdrawal_date=D(2026, 2, 15),
        reason="Moved away",
        data_use_permitted=False,
    )
    ham.form(
        Withdrawal,
        b1,
        kind="lost_to_follow_up",
        withdrawal_date=D(2026, 5, 1),
        reason="No contact",
        data_use_permitted=False,
    )
    ham.form(
        ProtocolDeviation,
        b1,
        deviation_date=D(2026, 2, 11),
        category="visit",
        description="Visit out of window",
        severity="minor",
    )

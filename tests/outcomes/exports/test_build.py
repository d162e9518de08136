"""Export datasets built from the database (issue 17, PROTOCOL §7 and §14):
rows equal the stored forms, missing-data codes come back as codes, the
user's site scope, the filters and the cut-off hold, and every format written
from the built datasets reads back with the same values, labels and codes.

The trial is ``tests.outcomes.exports.trial`` (its docstring lists every
participant and form with its dates).
"""

import datetime
from decimal import Decimal

import pytest

from crf.forms.registry import FORMS
from outcomes.exports import EXPORT_WRITERS
from outcomes.exports.build import export_datasets
from outcomes.exports.dataset import Coded, ExportDataError, Kind
from tests.outcomes.exports import readback
from tests.outcomes.exports.trial import export_trial_build

D = datetime.date
COMPLETE, SIGNED, DRAFT = "complete", "signed", "draft"
SCORES = [
    "mirels_total",
    "msts_total",
    "msts_percent",
    "tess_score",
    "eq5d_profile",
    "bpi_interference",
]


@pytest.fixture
def trial(users, site_a, site_b):
    export_trial_build(users, site_a, site_b)


def by_name(datasets) -> dict:
    return {dataset.name: dataset for dataset in datasets}


def blank_row(dataset) -> dict:
    return dict.fromkeys(variable.name for variable in dataset.variables)


def column(dataset, name) -> list:
    return [row.get(name) for row in dataset.rows]


@pytest.mark.django_db
def test_rows_are_the_stored_values_with_codes_in_few_queries(
    users, trial, django_assert_max_num_queries
):
    """The statistician's export: participants with arm and randomization
    date (PRF-TOR-0004 refused data use: absent everywhere); each form's rows
    are its stored values in registry order after the identifying columns, a
    coded field is its ``Coded``, empty text is blank, a plain checkbox is
    False; one query a form plus a few (10 forms + at most 8)."""
    with django_assert_max_num_queries(len(FORMS) + 8):
        datasets = by_name(export_datasets(user=users["statistician"]))
    assert list(datasets) == [
        "participants", "baseline", "operative", "discharge", "follow_up",
        "adverse_event", "reoperation", "local_recurrence", "death",
        "withdrawal", "deviation",
    ]  # fmt: skip

    participants = datasets["participants"]
    assert list(participants.rows) == [
        {"study_id": "PRF-HAM-0001", "site": "HAM", "status": "lost_to_follow_up",
         "screening_date": D(2026, 2, 5), "age": 66, "sex": "male",
         "fracture_status": "impending", "randomization_date": D(2026, 2, 10),
         "arm": "RER"},
        {"study_id": "PRF-TOR-0001", "site": "TOR", "status": "died",
         "screening_date": D(2026, 1, 5), "age": 71, "sex": "male",
         "fracture_status": "complete", "randomization_date": D(2026, 1, 10),
         "arm": "IF"},
        {"study_id": "PRF-TOR-0002", "site": "TOR", "status": "randomized",
         "screening_date": D(2026, 2, 20), "age": 64, "sex": "female",
         "fracture_status": "impending", "randomization_date": D(2026, 3, 1),
         "arm": "RER"},
        {"study_id": "PRF-TOR-0003", "site": "TOR", "status": "screened",
         "screening_date": D(2026, 4, 1), "age": 80, "sex": "other",
         "fracture_status": None, "randomization_date": None, "arm": None},
    ]  # fmt: skip

    baseline = datasets["baseline"]
    assert [v.name for v in baseline.variables] == [
        "study_id", "site", "form_status", *FORMS["baseline"].fields, *SCORES,
    ]  # fmt: skip
    assert list(baseline.rows) == [
        blank_row(baseline)
        | {
            "study_id": "PRF-TOR-0001", "site": "TOR", "form_status": COMPLETE,
            "assessment_date": D(2026, 1, 8),
            "primary_cancer_diagnosis": Coded("UNK"),
            "primary_cancer": "other", "primary_cancer_other": "Melanoma",
            "lesion_region": "head_neck", "fracture_status": "complete",
            "mirels_site": 3, "mirels_pain": 2, "mirels_lesion": 1,
            "mirels_size": 3, "bone_loss_percent": 60,
            "visceral_metastases": True, "bone_metastases": Coded("ND"),
            "haemoglobin_g_l": 112, "ecog": Coded("ILL"), "asa": 3,
            "expected_survival_months": 12, "msts_pain": 0, "tess_1": 4,
            "eq5d_vas": 70, "bpi_worst": 7, "mirels_total": 9,
            "msts_percent": Decimal("50.0"), "eq5d_profile": "12345",
            "bpi_interference": Decimal("2.25"),
        },
        blank_row(baseline)
        | {"study_id": "PRF-TOR-0003", "site": "TOR", "form_status": DRAFT,
           "primary_cancer": "breast"},
    ]  # fmt: skip
    kinds = {v.name: (v.kind, v.codable) for v in baseline.variables}
    assert kinds["assessment_date"] == (Kind.DATE, False)
    assert kinds["primary_cancer_diagnosis"] == (Kind.TEXT, True)  # partial date
    assert kinds["visceral_metastases"] == (Kind.BOOLEAN, True)
    assert kinds["haemoglobin_g_l"] == (Kind.INTEGER, True)
    assert kinds["fracture_status"] == (Kind.CHOICE, False)
    assert kinds["msts_percent"] == (Kind.DECIMAL, False)
    labels = {v.name: v.label for v in baseline.variables}
    assert labels["haemoglobin_g_l"] == "Haemoglobin (g/L)"
    assert labels["assessment_date"] == "Assessment date"
    cancer = next(v for v in baseline.variables if v.name == "primary_cancer")
    assert cancer.choices["unknown"] == "Unknown primary"

    operative = datasets["operative"]
    assert [
        (r["study_id"], r["form_status"], r["implant"], r["transfusion_units"])
        for r in operative.rows
    ] == [
        ("PRF-HAM-0001", COMPLETE, "Modular endoprosthesis", Coded("UNK")),
        ("PRF-TOR-0001", SIGNED, "Nail X", 0),
        ("PRF-TOR-0002", COMPLETE, None, None),
    ]

    follow_up = datasets["follow_up"]
    assert [v.name for v in follow_up.variables][:4] == [
        "study_id", "site", "visit", "form_status",
    ]  # fmt: skip
    assert [
        (r["study_id"], r["visit"], r["form_status"], r["visit_date"])
        for r in follow_up.rows
    ] == [
        ("PRF-HAM-0001", "2w", COMPLETE, D(2026, 2, 26)),
        ("PRF-TOR-0001", "2w", COMPLETE, D(2026, 1, 26)),
        ("PRF-TOR-0001", "6w", DRAFT, D(2026, 2, 23)),
        ("PRF-TOR-0002", "2w", COMPLETE, None),
    ]
    assert follow_up.rows[1] == blank_row(follow_up) | {
        "study_id": "PRF-TOR-0001", "site": "TOR", "visit": "2w",
        "form_status": COMPLETE, "visit_date": D(2026, 1, 26),
        "vital_status": "alive", "ambulatory_status": "aid",
        "implant_failure": False, "adjuvant_radiotherapy": True,
        "tess_score": Decimal("62.5"),
    }  # fmt: skip
    assert follow_up.rows[2]["eq5d_vas"] == Coded("DEC")
    assert follow_up.rows[2]["implant_failure"] == Coded("NA")
    assert follow_up.rows[3]["missed_reason"] == "Admitted elsewhere"

    events = datasets["adverse_event"]
    assert [(r["study_id"], r["form_number"], r["term"]) for r in events.rows] == [
        ("PRF-TOR-0001", 1, "Wound infection"),
        ("PRF-TOR-0001", 2, "Pulmonary embolism"),
    ]
    # Plain checkboxes: False when not ticked, never blank.
    assert column(events, "sae_death") == [False, False]
    assert column(events, "sae_life_threatening") == [False, True]
    assert column(events, "resolution_date") == [D(2026, 1, 30), Coded("DIED")]
    assert column(events, "clavien_dindo") == ["II", "IVa"]

    assert column(datasets["withdrawal"], "study_id") == ["PRF-HAM-0001"]
    assert column(datasets["withdrawal"], "data_use_permitted") == [False]
    assert column(datasets["deviation"], "form_number") == [1]
    assert column(datasets["death"], "primary_cause") == ["surgical"]
    assert column(datasets["local_recurrence"], "detected_by") == ["mri"]
    assert column(datasets["discharge"], "in_hospital_complications") == [
        "Delirium, day 3"
    ]
    assert column(datasets["reoperation"], "procedure") == ["Debridement"]


def study_ids(datasets) -> set[str]:
    return {row["study_id"] for dataset in datasets for row in dataset.rows}


@pytest.mark.django_db
def test_each_user_exports_only_their_scope(users, trial):
    """Site A's coordinator never sees site B's participant, in any dataset,
    nor may they name site B (unknown, as if it did not exist); site B's
    coordinator sees only theirs. Site staff and the statistician get the
    arm; the randomizer (who sees only arms it has just allocated) does not;
    the DSMB member exports nothing participant-level."""
    tor = export_datasets(user=users["coordinator"])
    assert study_ids(tor) == {"PRF-TOR-0001", "PRF-TOR-0002", "PRF-TOR-0003"}
    assert column(tor[0], "arm") == ["IF", "RER", None]
    with pytest.raises(ExportDataError, match="Unknown site: HAM"):
        export_datasets(user=users["coordinator"], sites=["HAM"])

    ham = export_datasets(user=users["coordinator2"])
    assert study_ids(ham) == {"PRF-HAM-0001"}

    randomizer = export_datasets(user=users["randomizer"])
    assert "arm" not in [v.name for v in randomizer[0].variables]
    assert len(randomizer[0].rows) == 4
    assert study_ids(export_datasets(user=users["dsmb"])) == set()


@pytest.mark.django_db
def test_filters_choose_forms_fields_sites_and_visits(users, trial):
    """Forms, fields, sites and visits narrow the export; the visit filter
    touches per-visit forms only; unknown names are refused by name."""
    datasets = export_datasets(
        user=users["datamanager"],
        forms=["operative", "follow-up"],
        fields=["procedure", "vital_status", "eq5d_vas"],
        sites=["tor"],
        visits=["6w"],
    )
    participants, operative, follow_up = datasets
    assert column(participants, "study_id") == [
        "PRF-TOR-0001", "PRF-TOR-0002", "PRF-TOR-0003",
    ]  # fmt: skip
    assert list(operative.rows) == [
        {"study_id": "PRF-TOR-0001", "site": "TOR", "form_status": SIGNED,
         "procedure": "IF"},
        {"study_id": "PRF-TOR-0002", "site": "TOR", "form_status": COMPLETE,
         "procedure": "RER"},
    ]  # fmt: skip
    assert list(follow_up.rows) == [
        {"study_id": "PRF-TOR-0001", "site": "TOR", "visit": "6w",
         "form_status": DRAFT, "vital_status": "alive", "eq5d_vas": Coded("DEC")},
    ]  # fmt: skip
    # Only the Baseline holds ECOG: the other forms are left out.
    only_ecog = export_datasets(user=users["datamanager"], fields=["ecog"])
    assert [d.name for d in only_ecog] == ["participants", "baseline"]

    statistician = users["statistician"]
    with pytest.raises(ExportDataError, match="Unknown form: consent"):
        export_datasets(user=statistician, forms=["consent", "death"])
    with pytest.raises(ExportDataError, match="Unknown field: ecog"):
        export_datasets(user=statistician, forms=["operative"], fields=["ecog"])
    with pytest.raises(ExportDataError, match="Unknown visit: 3m"):
        export_datasets(user=statistician, visits=["3m", "2w"])


@pytest.mark.django_db
def test_cutoff_keeps_participants_randomized_and_forms_dated_by_then(users, trial):
    """Cut-off 2026-02-15: randomized by then are TOR-0001 (01-10) and
    HAM-0001 (02-10), not TOR-0002 (03-01) nor the never-randomized TOR-0003.
    Their forms dated on or before 02-15 stay: TOR-0001's Operative 01-12,
    Discharge 01-20, 2w visit 01-26, AE of 01-15 (still number 1), Reoperation
    02-10; HAM-0001's Operative 02-12 and Deviation 02-11. Left out: the 6w
    visit 02-23, the AE of 03-01, the Death 03-02, HAM-0001's 2w visit 02-26
    and loss to follow-up 05-01. The Baseline is read whatever its date.
    The missed visit of TOR-0002 is dated by its completion, 03-20: in at a
    cut-off of 03-20, out at 03-19."""
    datasets = by_name(
        export_datasets(user=users["statistician"], cutoff=D(2026, 2, 15))
    )
    rows = {
        name: [(r["study_id"], r.get("visit") or r.get("form_number")) for r in d.rows]
        for name, d in datasets.items()
    }
    assert rows == {
        "participants": [("PRF-HAM-0001", None), ("PRF-TOR-0001", None)],
        "baseline": [("PRF-TOR-0001", None)],
        "operative": [("PRF-HAM-0001", None), ("PRF-TOR-0001", None)],
        "discharge": [("PRF-TOR-0001", None)],
        "follow_up": [("PRF-TOR-0001", "2w")],
        "adverse_event": [("PRF-TOR-0001", 1)],
        "reoperation": [("PRF-TOR-0001", 1)],
        "local_recurrence": [],
        "death": [],
        "withdrawal": [],
        "deviation": [("PRF-HAM-0001", 1)],
    }

    def missed_visit_exported(cutoff) -> bool:
        (_participants, follow_up) = export_datasets(
            user=users["statistician"], forms=["follow-up"], cutoff=cutoff
        )
        return ("PRF-TOR-0002", "2w") in [
            (r["study_id"], r["visit"]) for r in follow_up.rows
        ]

    assert missed_visit_exported(D(2026, 3, 20))
    assert not missed_visit_exported(D(2026, 3, 19))


@pytest.mark.django_db
def test_every_format_reads_back_the_built_datasets(users, trial, tmp_path):
    """Each built dataset written by every writer of ``EXPORT_WRITERS`` and
    read back (pandas, pyreadstat) gives its rows cell for cell (codes as
    codes, blanks as blanks), its variable labels, its dataset label and, in
    Stata and SPSS, the value labels of choices, yes/no and codes. Every
    writer checks the format's limits first (``check_limits_for``), so this
    also shows every real field name fits Stata's and SAS's 32 characters
    (with SAS's ``_code`` companion) as exported."""
    datasets = export_datasets(user=users["statistician"])
    assert set(EXPORT_WRITERS) == {"csv", "stata", "spss", "sas", "r"}
    codes_seen = set()
    for dataset in datasets:
        name = dataset.name
        expected = readback.expected_rows(dataset)
        labels = [v.label for v in dataset.variables]
        codes_seen |= {
            cell.code for row in expected for cell in row.values()
            if isinstance(cell, Coded)
        }  # fmt: skip
        folder = tmp_path / name
        folder.mkdir()

        files = EXPORT_WRITERS["csv"](dataset)
        assert readback.csv_rows(dataset, files[f"{name}.csv"], folder) == expected
        codebook = readback.csv_codebook(files[f"{name}_codebook.csv"], folder)
        assert [row["label"] for row in codebook] == labels

        files = EXPORT_WRITERS["r"](dataset)
        assert readback.csv_rows(dataset, files[f"{name}.csv"], folder) == expected
        readback.r_script_names_labels(dataset, files[f"load_{name}.R"].decode("utf-8"))

        path = readback.written(folder, EXPORT_WRITERS["stata"](dataset))[f"{name}.dta"]
        rows, meta = readback.stata_rows(dataset, path)
        assert rows == expected, name
        assert meta.column_labels == labels
        assert meta.file_label == dataset.label
        for variable in dataset.variables:
            value_labels = readback.expected_value_labels(variable, "abcdef")
            assert meta.variable_value_labels.get(variable.name, {}) == (
                value_labels
            ), variable.name

        path = readback.written(folder, EXPORT_WRITERS["spss"](dataset))[f"{name}.sav"]
        rows, meta = readback.spss_rows(dataset, path)
        assert rows == expected, name
        assert meta.column_labels == labels
        for variable in dataset.variables:
            if variable.kind not in (Kind.TEXT, Kind.DATE):
                value_labels = readback.expected_value_labels(
                    variable, range(-91, -97, -1)
                )
                assert meta.variable_value_labels.get(variable.name, {}) == (
                    value_labels
                ), variable.name

        path = readback.written(folder, EXPORT_WRITERS["sas"](dataset))[f"{name}.xpt"]
        rows, meta = readback.sas_rows(dataset, path)
        assert rows == expected, name
        assert meta.table_name == name
        sas_labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
        assert [sas_labels[v.name] for v in dataset.variables] == labels
    # The trial holds each of the six codes somewhere.
    assert codes_seen == {"NA", "UNK", "ND", "ILL", "DEC", "DIED"}

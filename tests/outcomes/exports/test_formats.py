"""Round trips (issue 17, PROTOCOL §7 and §14): the sample dataset written in
each format and read back with pandas or pyreadstat gives back its values,
variable labels, value labels and missing-data codes; a coded cell never
comes back blank or 0.

Expected columns are written out by hand from ``sample.TABLE``. The codes of
rows P02-P07 (see ``sample``'s docstring), column by column:
  age          NA  UNK ND  ILL DEC DIED  -> Stata a b c d e f, SPSS -91..-96
  haemoglobin  UNK ND  ILL DEC DIED NA   -> b c d e f a,  -92 -93 -94 -95 -96 -91
  surgery_date ND  ILL DEC DIED NA  UNK  -> c d e f a b,  -93 -94 -95 -96 -91 -92
  implant      ILL DEC DIED NA  UNK ND   (text: the code itself)
  procedure    DEC DIED NA UNK  ND  ILL  -> e f a b c d,  -95 -96 -91 -92 -93 -94
  ecog         DIED NA UNK ND   ILL DEC  -> f a b c d e,  -96 -91 -92 -93 -94 -95
  transfusion  NA  UNK ND  ILL DEC DIED  -> a b c d e f,  -91..-96
Stata tags and SPSS sentinels follow the code order NA, UNK, ND, ILL, DEC,
DIED (a..f; -91 down to -96).
"""

import csv
import datetime

import pandas as pd
import pyreadstat

from outcomes.exports import csv_files, r_files, sas_files, spss_files, stata_files
from outcomes.exports.dataset import Coded, Dataset, Variable
from tests.outcomes.exports.sample import TABLE, sample_dataset

D = datetime.date
CODED_ROWS = range(1, 7)  # P02-P07, 0-based
CODE_LABELS = {
    "NA": "NA: Not applicable",
    "UNK": "UNK: Unknown",
    "ND": "ND: Not done",
    "ILL": "ILL: Participant too ill",
    "DEC": "DEC: Declined",
    "DIED": "DIED: Participant died",
}
VARIABLE_LABELS = [
    "Participant identifier",
    "Age at screening (years)",
    "Haemoglobin before surgery, grams per litre (g/L)",
    "Date of surgery",
    "Implant used",
    "Procedure performed",
    "ECOG performance status",
    "Blood transfusion",
    "Coordinator's note",
]
PROCEDURE_LABELS = {
    1: "Intramedullary fixation",
    2: "Resection and endoprosthetic reconstruction",
    3: "Other",
}
ECOG_LABELS = {
    0: "Fully active",
    1: "Restricted in strenuous activity",
    2: "Ambulatory, capable of self-care",
    3: "Capable of limited self-care",
    4: "Completely disabled",
}
IDS = ["P01", "P02", "P03", "P04", "P05", "P06", "P07", "P08", "P09"]
IMPLANT = ["Nail X", "ILL", "DEC", "DIED", "NA", "UNK", "ND", "", "Prosthesis Y"]
NOTE = ['said "fine", ok', "", "", "", "", "", "", "", "Ünïcode"]
CODABLE_NUMERIC = [
    "age",
    "haemoglobin",
    "surgery_date",
    "procedure",
    "ecog",
    "transfusion",
]


def written(tmp_path, files: dict[str, bytes]) -> dict[str, object]:
    """Writes the files into ``tmp_path``; their paths by name."""
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(content)
    return paths


def cells(series) -> list:
    """A column as plain values, a missing value (NaN, NaT, None) as None."""
    return [None if not isinstance(v, str) and pd.isna(v) else v for v in series]


def assert_codes_never_blank_or_zero(frame, columns):
    for column in columns:
        for row in CODED_ROWS:
            value = frame[column].iloc[row]
            assert value not in ("", 0, None), (column, row, value)
            assert not pd.isna(value), (column, row)


def test_csv_holds_codes_as_text_and_blank_as_empty(tmp_path):
    """The data CSV read as text (``keep_default_na=False``: ``NA`` is a
    code, not an empty cell) gives back every cell as written: codes as their
    text, choices as stored, yes/no as 1/0, dates ISO, blanks empty."""
    paths = written(tmp_path, csv_files(sample_dataset()))
    assert set(paths) == {"perform_sample.csv", "perform_sample_codebook.csv"}
    frame = pd.read_csv(paths["perform_sample.csv"], dtype=str, keep_default_na=False)
    assert list(frame.columns) == [
        "participant_id", "age", "haemoglobin", "surgery_date", "implant",
        "procedure", "ecog", "transfusion", "note",
    ]  # fmt: skip
    expected = {
        "participant_id": IDS,
        "age": ["67", "NA", "UNK", "ND", "ILL", "DEC", "DIED", "", "45"],
        "haemoglobin": ["121.5", "UNK", "ND", "ILL", "DEC", "DIED", "NA", "", "88.25"],
        "surgery_date": [
            "2025-03-01", "ND", "ILL", "DEC", "DIED", "NA", "UNK", "", "2024-12-31",
        ],
        "implant": IMPLANT,
        "procedure": ["IF", "DEC", "DIED", "NA", "UNK", "ND", "ILL", "", "RER"],
        "ecog": ["0", "DIED", "NA", "UNK", "ND", "ILL", "DEC", "", "4"],
        "transfusion": ["0", "NA", "UNK", "ND", "ILL", "DEC", "DIED", "", "1"],
        "note": NOTE,
    }  # fmt: skip
    for column, values in expected.items():
        assert frame[column].tolist() == values, column
    assert_codes_never_blank_or_zero(frame, CODABLE_NUMERIC + ["implant"])


def test_codebook_lists_labels_types_value_labels_and_codes(tmp_path):
    """One codebook line a variable: its label and type; choices as stored =
    label; the 1..k numbers the labelled formats store for text choices; and
    for a codable variable each code, its meaning and its Stata/SPSS/SAS form."""
    paths = written(tmp_path, csv_files(sample_dataset()))
    with open(paths["perform_sample_codebook.csv"], encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [row["name"] for row in rows] == [
        "participant_id", "age", "haemoglobin", "surgery_date", "implant",
        "procedure", "ecog", "transfusion", "note",
    ]  # fmt: skip
    assert [row["label"] for row in rows] == VARIABLE_LABELS
    assert [row["type"] for row in rows] == [
        "text", "integer", "decimal", "date", "text", "choice", "choice",
        "boolean", "text",
    ]  # fmt: skip
    by_name = {row["name"]: row for row in rows}
    assert by_name["procedure"]["value_labels"] == (
        "IF = Intramedullary fixation; "
        "RER = Resection and endoprosthetic reconstruction; other = Other"
    )
    assert by_name["procedure"]["numeric_codes"] == "1 = IF; 2 = RER; 3 = other"
    assert by_name["ecog"]["value_labels"].startswith("0 = Fully active; 1 = ")
    assert by_name["ecog"]["numeric_codes"] == ""  # scores are stored as they are
    assert by_name["transfusion"]["value_labels"] == "0 = No; 1 = Yes"
    assert by_name["age"]["missing_codes"] == (
        "NA = Not applicable [Stata .a, SPSS -91, SAS .A]; "
        "UNK = Unknown [Stata .b, SPSS -92, SAS .B]; "
        "ND = Not done [Stata .c, SPSS -93, SAS .C]; "
        "ILL = Participant too ill [Stata .d, SPSS -94, SAS .D]; "
        "DEC = Declined [Stata .e, SPSS -95, SAS .E]; "
        "DIED = Participant died [Stata .f, SPSS -96, SAS .F]"
    )
    assert by_name["implant"]["missing_codes"] == (
        "NA = Not applicable; UNK = Unknown; ND = Not done; "
        "ILL = Participant too ill; DEC = Declined; DIED = Participant died"
    )
    assert by_name["note"]["missing_codes"] == ""
    assert by_name["participant_id"]["missing_codes"] == ""


def test_stata_codes_are_extended_missing_values_named_by_value_labels(tmp_path):
    """Read with ``user_missing=True``, each coded numeric or date cell is its
    tag letter (a-f), blanks are missing, real zeros stay 0; the text
    variable holds the code text (Stata has no missing string: a blank is "")."""
    path = written(tmp_path, stata_files(sample_dataset()))["perform_sample.dta"]
    frame, meta = pyreadstat.read_dta(str(path), user_missing=True)
    assert cells(frame["participant_id"]) == IDS
    assert cells(frame["age"]) == [67, "a", "b", "c", "d", "e", "f", None, 45]
    assert cells(frame["haemoglobin"]) == [
        121.5, "b", "c", "d", "e", "f", "a", None, 88.25,
    ]  # fmt: skip
    assert cells(frame["surgery_date"]) == [
        D(2025, 3, 1), "c", "d", "e", "f", "a", "b", None, D(2024, 12, 31),
    ]  # fmt: skip
    assert cells(frame["implant"]) == IMPLANT
    assert cells(frame["procedure"]) == [1, "e", "f", "a", "b", "c", "d", None, 2]
    assert cells(frame["ecog"]) == [0, "f", "a", "b", "c", "d", "e", None, 4]
    assert cells(frame["transfusion"]) == [0, "a", "b", "c", "d", "e", "f", None, 1]
    assert cells(frame["note"]) == NOTE
    assert_codes_never_blank_or_zero(frame, CODABLE_NUMERIC + ["implant"])

    assert meta.column_labels == VARIABLE_LABELS
    assert meta.file_label == "PERFORM export sample"
    tags = dict(zip("abcdef", CODE_LABELS.values(), strict=True))
    assert meta.variable_value_labels["procedure"] == {**PROCEDURE_LABELS, **tags}
    assert meta.variable_value_labels["ecog"] == {**ECOG_LABELS, **tags}
    assert meta.variable_value_labels["transfusion"] == {0: "No", 1: "Yes", **tags}
    assert meta.variable_value_labels["age"] == tags
    assert meta.variable_value_labels["surgery_date"] == tags
    assert "implant" not in meta.variable_value_labels
    assert meta.missing_user_values == {
        name: ["a", "b", "c", "d", "e", "f"] for name in CODABLE_NUMERIC
    }
    assert meta.original_variable_types["surgery_date"] == "%td"


def test_stata_value_labels_apply_to_codes_and_choices(tmp_path):
    """With value formats applied, a choice reads as its label and a coded
    cell as its code's label (P02's procedure is DEC, its ECOG DIED)."""
    path = written(tmp_path, stata_files(sample_dataset()))["perform_sample.dta"]
    frame, _meta = pyreadstat.read_dta(
        str(path), user_missing=True, apply_value_formats=True
    )
    assert cells(frame["procedure"])[:3] == [
        "Intramedullary fixation", "DEC: Declined", "DIED: Participant died",
    ]  # fmt: skip
    assert cells(frame["ecog"])[0] == "Fully active"
    assert cells(frame["ecog"])[1] == "DIED: Participant died"
    assert cells(frame["transfusion"])[8] == "Yes"


def test_spss_codes_are_user_missing_sentinels_with_labels(tmp_path):
    """Read with ``user_missing=True``, coded numeric cells are -91..-96
    (NA..DIED), declared missing as the range -96 thru -91 and labelled;
    the text variable holds the code text, its first three codes declared
    missing (SPSS keeps three strings); blanks are missing."""
    path = written(tmp_path, spss_files(sample_dataset()))["perform_sample.sav"]
    frame, meta = pyreadstat.read_sav(str(path), user_missing=True)
    assert cells(frame["age"]) == [67, -91, -92, -93, -94, -95, -96, None, 45]
    assert cells(frame["haemoglobin"]) == [
        121.5, -92, -93, -94, -95, -96, -91, None, 88.25,
    ]  # fmt: skip
    assert cells(frame["implant"]) == IMPLANT
    assert cells(frame["procedure"]) == [1, -95, -96, -91, -92, -93, -94, None, 2]
    assert cells(frame["ecog"]) == [0, -96, -91, -92, -93, -94, -95, None, 4]
    assert cells(frame["transfusion"]) == [0, -91, -92, -93, -94, -95, -96, None, 1]
    assert cells(frame["note"]) == NOTE
    # Converted to dates, a few seconds before the epoch is 13 October 1582
    # (the raw sentinels: next test).
    assert cells(frame["surgery_date"]) == [
        D(2025, 3, 1), *[D(1582, 10, 13)] * 6, None, D(2024, 12, 31),
    ]  # fmt: skip
    assert_codes_never_blank_or_zero(frame, CODABLE_NUMERIC + ["implant"])

    assert meta.column_labels == VARIABLE_LABELS
    assert meta.file_label == "PERFORM export sample"
    sentinels = dict(
        zip([-91, -92, -93, -94, -95, -96], CODE_LABELS.values(), strict=True)
    )
    assert meta.variable_value_labels["procedure"] == {**PROCEDURE_LABELS, **sentinels}
    assert meta.variable_value_labels["ecog"] == {**ECOG_LABELS, **sentinels}
    assert meta.variable_value_labels["transfusion"] == {0: "No", 1: "Yes", **sentinels}
    assert meta.variable_value_labels["age"] == sentinels
    assert meta.variable_value_labels["implant"] == CODE_LABELS
    for name in ["age", "haemoglobin", "procedure", "ecog", "transfusion"]:
        assert meta.missing_ranges[name] == [{"lo": -96.0, "hi": -91.0}], name
    assert meta.missing_ranges["implant"] == [
        {"lo": "NA", "hi": "NA"}, {"lo": "UNK", "hi": "UNK"}, {"lo": "ND", "hi": "ND"},
    ]  # fmt: skip
    assert "note" not in meta.missing_ranges
    # Haemoglobin's values have at most two decimals (88.25): F12.2.
    assert meta.original_variable_types["haemoglobin"] == "F12.2"
    assert meta.original_variable_types["age"] == "F8.0"
    assert meta.variable_measure["procedure"] == "nominal"
    assert meta.variable_measure["age"] == "scale"


def test_spss_date_codes_are_the_same_sentinels(tmp_path):
    """An SPSS date is seconds since 14 October 1582: read without date
    conversion, the coded dates are the sentinels (ND ILL DEC DIED NA UNK =
    -93 -94 -95 -96 -91 -92), declared missing; the dates are the seconds of
    their day. Proleptic Gregorian day numbers (date.toordinal): 1582-10-14 is
    577 735, 2025-03-01 is 739 311, 2024-12-31 is 739 251, so
    (739 311 - 577 735) x 86 400 = 161 576 x 86 400 = 13 960 166 400 and
    (739 251 - 577 735) x 86 400 = 161 516 x 86 400 = 13 954 982 400."""
    path = written(tmp_path, spss_files(sample_dataset()))["perform_sample.sav"]
    frame, meta = pyreadstat.read_sav(
        str(path), user_missing=True, disable_datetime_conversion=True
    )
    assert cells(frame["surgery_date"]) == [
        13_960_166_400, -93, -94, -95, -96, -91, -92, None, 13_954_982_400,
    ]  # fmt: skip
    assert_codes_never_blank_or_zero(frame, ["surgery_date"])
    assert meta.missing_ranges["surgery_date"] == [{"lo": -96.0, "hi": -91.0}]
    assert meta.original_variable_types["surgery_date"] == "DATE11"


def test_sas_transport_keeps_codes_in_companion_columns(tmp_path):
    """In the version 8 transport file a coded numeric or date cell is
    missing, never 0, and its code is in ``<name>_code`` (blank elsewhere);
    the text variable holds the code text; long names and a label over 40
    characters survive; the member is named after the dataset."""
    paths = written(tmp_path, sas_files(sample_dataset()))
    assert set(paths) == {"perform_sample.xpt", "formats.sas"}
    frame, meta = pyreadstat.read_xport(str(paths["perform_sample.xpt"]))
    assert list(frame.columns) == [
        "participant_id", "age", "age_code", "haemoglobin", "haemoglobin_code",
        "surgery_date", "surgery_date_code", "implant", "procedure",
        "procedure_code", "ecog", "ecog_code", "transfusion", "transfusion_code",
        "note",
    ]  # fmt: skip
    assert cells(frame["age"]) == [67, None, None, None, None, None, None, None, 45]
    assert cells(frame["age_code"]) == [
        "", "NA", "UNK", "ND", "ILL", "DEC", "DIED", "", "",
    ]  # fmt: skip
    assert cells(frame["haemoglobin_code"])[1:7] == [
        "UNK",
        "ND",
        "ILL",
        "DEC",
        "DIED",
        "NA",
    ]
    assert cells(frame["surgery_date"]) == [
        D(2025, 3, 1), None, None, None, None, None, None, None, D(2024, 12, 31),
    ]  # fmt: skip
    assert cells(frame["surgery_date_code"])[1:7] == [
        "ND",
        "ILL",
        "DEC",
        "DIED",
        "NA",
        "UNK",
    ]
    assert cells(frame["procedure"]) == [1, None, None, None, None, None, None, None, 2]
    assert cells(frame["procedure_code"])[1:7] == [
        "DEC",
        "DIED",
        "NA",
        "UNK",
        "ND",
        "ILL",
    ]
    assert cells(frame["ecog"])[0] == 0 and cells(frame["ecog"])[8] == 4
    assert cells(frame["ecog_code"])[1:7] == ["DIED", "NA", "UNK", "ND", "ILL", "DEC"]
    assert cells(frame["transfusion"])[0] == 0 and cells(frame["transfusion"])[8] == 1
    assert cells(frame["transfusion_code"])[1:7] == [
        "NA",
        "UNK",
        "ND",
        "ILL",
        "DEC",
        "DIED",
    ]
    assert cells(frame["implant"]) == IMPLANT
    assert cells(frame["note"]) == NOTE
    assert_codes_never_blank_or_zero(
        frame, [f"{name}_code" for name in CODABLE_NUMERIC] + ["implant"]
    )
    labels = dict(zip(frame.columns, meta.column_labels, strict=True))
    assert [labels[name] for name in frame.columns if not name.endswith("_code")] == (
        VARIABLE_LABELS
    )
    assert labels["age_code"] == "Missing-data code of age"
    assert meta.table_name == "perform_sample"
    assert meta.original_variable_types["surgery_date"] == "DATE9."


def test_r_export_is_the_data_csv_and_its_load_script(tmp_path):
    """The R export carries the same data CSV as the CSV export, next to
    ``load_<name>.R`` (its content: ``test_scripts``)."""
    dataset = sample_dataset()
    files = r_files(dataset)
    assert set(files) == {"perform_sample.csv", "load_perform_sample.R"}
    assert files["perform_sample.csv"] == csv_files(dataset)["perform_sample.csv"]
    assert len(TABLE) == 9  # the rows the expected columns above spell out


def test_spss_shows_every_decimal_place(tmp_path):
    """SPSS's default F8.2 would show 0.125 as 0.13: the display format takes
    the most decimal places a value has (3 here: F13.3, 10 + 3 wide); the
    file keeps the value itself."""
    dataset = Dataset(
        name="fractions",
        label="Fractions",
        variables=[Variable("dose", "Dose (mg/kg)", "decimal", codable=True)],
        rows=[{"dose": 0.125}, {"dose": 2}, {"dose": Coded("ND")}],
    )
    path = written(tmp_path, spss_files(dataset))["fractions.sav"]
    frame, meta = pyreadstat.read_sav(str(path), user_missing=True)
    assert meta.original_variable_types["dose"] == "F13.3"
    assert cells(frame["dose"]) == [0.125, 2, -93]

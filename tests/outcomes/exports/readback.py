"""Read an exported dataset back from each format's files into the cells of
``outcomes.exports.dataset`` (a value, ``None`` for a blank, ``Coded(code)``)
with its variable labels, so a test can compare them with the dataset that
was written.

How each format keeps a code (written out here by hand, as
``test_formats`` checks them on the sample dataset): the CSV (and R's data
CSV) holds the code text; Stata holds a numeric code as the extended missing
value .a-.f (NA, UNK, ND, ILL, DEC, DIED); SPSS as -91..-96 in the same order;
SAS transport in the ``<name>_code`` companion column; a text variable holds
the code text everywhere.
"""

import csv
import datetime
import decimal
import json

import pandas as pd
import pyreadstat

from outcomes.exports.dataset import Coded, Dataset, Kind, Variable
from tests.outcomes.exports.test_formats import CODE_LABELS, cells, written

__all__ = ["written"]

CODES = ["NA", "UNK", "ND", "ILL", "DEC", "DIED"]
STATA_TAG_CODES = dict(zip("abcdef", CODES, strict=True))
SPSS_SENTINEL_CODES = dict(zip([-91, -92, -93, -94, -95, -96], CODES, strict=True))
SPSS_EPOCH = datetime.date(1582, 10, 14)


def _numeric(variable: Variable, number):
    """A stored number as the dataset's value: a choice's stored value (the
    number itself for integer choices, else the n-th choice), a yes/no, an
    integer, or a decimal."""
    if variable.kind == Kind.CHOICE:
        by_number = {number: value for value, number in variable.numeric_codes.items()}
        return by_number[int(number)]
    if variable.kind == Kind.BOOLEAN:
        return {0: False, 1: True}[int(number)]
    if variable.kind == Kind.INTEGER:
        assert number == int(number), (variable.name, number)
        return int(number)
    return number


def _text(variable: Variable, value):
    """A text cell: its code (a codable variable), text, or blank ("")."""
    if variable.codable and value in CODES:
        return Coded(value)
    return value or None


def _from_text(variable: Variable, text: str):
    """A data-CSV cell (read as text) as the dataset's cell."""
    if text == "":
        return None
    if variable.codable and text in CODES:
        return Coded(text)
    if variable.kind == Kind.TEXT:
        return text
    if variable.kind == Kind.DATE:
        return datetime.date.fromisoformat(text)
    if variable.kind == Kind.BOOLEAN:
        return {"0": False, "1": True}[text]
    if variable.kind == Kind.CHOICE and not variable.integer_choices:
        return text
    if variable.kind == Kind.DECIMAL:
        return decimal.Decimal(text)
    return int(text)


def csv_rows(dataset: Dataset, data: bytes, tmp_path) -> list[dict]:
    path = written(tmp_path, {"data.csv": data})["data.csv"]
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(frame.columns) == [v.name for v in dataset.variables]
    return [
        {v.name: _from_text(v, row[v.name]) for v in dataset.variables}
        for _index, row in frame.iterrows()
    ]


def stata_rows(dataset: Dataset, path) -> tuple[list[dict], object]:
    frame, meta = pyreadstat.read_dta(str(path), user_missing=True)
    rows = [{} for _ in range(len(frame))]
    for variable in dataset.variables:
        for row, value in zip(rows, cells(frame[variable.name]), strict=True):
            if variable.kind == Kind.TEXT:
                row[variable.name] = _text(variable, value)
            elif isinstance(value, str):
                row[variable.name] = Coded(STATA_TAG_CODES[value])
            elif value is None or variable.kind == Kind.DATE:
                row[variable.name] = value
            else:
                row[variable.name] = _numeric(variable, value)
    return rows, meta


def spss_rows(dataset: Dataset, path) -> tuple[list[dict], object]:
    frame, meta = pyreadstat.read_sav(
        str(path), user_missing=True, disable_datetime_conversion=True
    )
    rows = [{} for _ in range(len(frame))]
    for variable in dataset.variables:
        for row, value in zip(rows, cells(frame[variable.name]), strict=True):
            if variable.kind == Kind.TEXT:
                row[variable.name] = _text(variable, value)
            elif value is None:
                row[variable.name] = None
            elif variable.codable and value in SPSS_SENTINEL_CODES:
                row[variable.name] = Coded(SPSS_SENTINEL_CODES[value])
            elif variable.kind == Kind.DATE:
                # Seconds since 14 October 1582, midnight of the day.
                row[variable.name] = SPSS_EPOCH + datetime.timedelta(seconds=int(value))
            else:
                row[variable.name] = _numeric(variable, value)
    return rows, meta


def sas_rows(dataset: Dataset, path) -> tuple[list[dict], object]:
    frame, meta = pyreadstat.read_xport(str(path))
    rows = [{} for _ in range(len(frame))]
    for variable in dataset.variables:
        values = cells(frame[variable.name])
        companion = f"{variable.name}_code"
        codes = cells(frame[companion]) if companion in frame else [""] * len(values)
        for row, value, code in zip(rows, values, codes, strict=True):
            if variable.kind == Kind.TEXT:
                row[variable.name] = _text(variable, value)
            elif code:
                assert value is None, (variable.name, value, code)
                row[variable.name] = Coded(code)
            elif value is None or variable.kind == Kind.DATE:
                row[variable.name] = value
            else:
                row[variable.name] = _numeric(variable, value)
    return rows, meta


def expected_rows(dataset: Dataset) -> list[dict]:
    """The dataset's rows with every variable named (blank as ``None``)."""
    return [
        {v.name: row.get(v.name) for v in dataset.variables} for row in dataset.rows
    ]


def expected_value_labels(variable: Variable, code_keys) -> dict:
    """The value labels a labelled format gives ``variable``: its choices (or
    No/Yes), and, for a codable one, each code's label under its stored key
    (``code_keys``: the tag letters or sentinels, in code order)."""
    labels = {}
    if variable.kind == Kind.CHOICE:
        labels = {
            variable.numeric_codes[v]: text for v, text in variable.choices.items()
        }
    if variable.kind == Kind.BOOLEAN:
        labels = {0: "No", 1: "Yes"}
    if variable.codable and variable.kind != Kind.TEXT:
        labels.update(
            {key: CODE_LABELS[code] for code, key in zip(CODES, code_keys, strict=True)}
        )
    return labels


def csv_codebook(data: bytes, tmp_path) -> list[dict]:
    """The codebook's lines as dicts (``name``, ``label``, ``type`` ...)."""
    path = written(tmp_path, {"codebook.csv": data})["codebook.csv"]
    with open(path, encoding="utf-8") as file:
        return list(csv.DictReader(file))


def r_script_names_labels(dataset: Dataset, script: str) -> None:
    """The R script sets every variable's label and every choice's label (R
    string literals are JSON strings: ``outcomes.exports.r_script``)."""
    for variable in dataset.variables:
        assert json.dumps(variable.label, ensure_ascii=False) in script, variable
        for text in (variable.choices or {}).values():
            assert json.dumps(text, ensure_ascii=False) in script, (variable, text)

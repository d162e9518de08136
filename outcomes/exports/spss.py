"""SPSS export (``.sav``) through pyreadstat.

* Variable labels, the dataset label as the file label, and each variable's
  measurement level (nominal for choices, yes/no and text; scale otherwise).
* Choice and yes/no variables are labelled numbers (``outcomes.exports.
  labelled``).
* A missing-data code in a numeric or date variable is a user-defined missing
  value: -91 NA, -92 UNK, -93 ND, -94 ILL, -95 DEC, -96 DIED, declared
  missing as the range -96 thru -91 and named by value labels (``ND: Not
  done``). ``Dataset`` refuses a real value in that range in a codable
  variable. Dates are SPSS dates (seconds since 14 October 1582), so a code
  in a date variable is the same small negative number, shown as 13-OCT-1582
  with the code's label.
* In a text variable the code is the text itself, labelled; SPSS declares
  at most three strings missing per variable, so the first three codes the
  column holds (in the order NA, UNK, ND, ILL, DEC, DIED) are declared
  missing and any others stay labelled text.
"""

import datetime
import decimal

import pandas as pd
import pyreadstat

from outcomes.exports._files import written_bytes
from outcomes.exports.dataset import (
    MISSING_CODES,
    NUMERIC_KINDS,
    SENTINEL_HIGH,
    SENTINEL_LOW,
    SPSS_SENTINELS,
    Coded,
    Dataset,
    Kind,
    Variable,
    check_limits_for,
    code_label,
)
from outcomes.exports.labelled import labelled_frame, stored_value, value_labels

SPSS_EPOCH = datetime.date(1582, 10, 14)
SECONDS_A_DAY = 86400
SPSS_STRING_MISSING_LIMIT = 3
MEASURE = {
    Kind.INTEGER: "scale",
    Kind.DECIMAL: "scale",
    Kind.DATE: "scale",
    Kind.TEXT: "nominal",
    Kind.BOOLEAN: "nominal",
    Kind.CHOICE: "nominal",
}


def _spss_cell(variable: Variable, cell):
    if cell is None:
        return None
    if isinstance(cell, Coded):
        if variable.kind in NUMERIC_KINDS:
            return float(SPSS_SENTINELS[cell.code])
        return cell.code
    if variable.kind == Kind.DATE:
        # Written as numbers so a date column can also hold the sentinels.
        return float((cell - SPSS_EPOCH).days * SECONDS_A_DAY)
    return stored_value(variable, cell)


def spss_frame(dataset: Dataset) -> pd.DataFrame:
    """The data as pyreadstat writes it: sentinels stand for the codes."""
    return labelled_frame(dataset, _spss_cell)


def spss_value_labels(variable: Variable) -> dict:
    """Value labels, the codes' sentinels (or texts) included."""
    labels: dict = dict(value_labels(variable))
    if variable.codable:
        for code in MISSING_CODES:
            key = SPSS_SENTINELS[code] if variable.kind in NUMERIC_KINDS else code
            labels[key] = code_label(code)
    return labels


def decimal_format(dataset: Dataset, variable: Variable) -> str:
    """An SPSS display format showing every decimal place the column's values
    have (at least 1, at most 16): F8.2, SPSS's default, would show 0.125 as
    0.13. Only the display: the file stores the double."""
    places = [
        -decimal.Decimal(str(cell)).as_tuple().exponent
        for cell in dataset.column(variable)
        if cell is not None and not isinstance(cell, Coded)
    ]
    digits = min(max([1, *places]), 16)
    return f"F{digits + 10}.{digits}"


def spss_missing(dataset: Dataset, variable: Variable) -> list:
    """The ``missing_ranges`` entry of a codable variable."""
    if variable.kind in NUMERIC_KINDS:
        return [{"lo": float(SENTINEL_LOW), "hi": float(SENTINEL_HIGH)}]
    held = {cell.code for cell in dataset.column(variable) if isinstance(cell, Coded)}
    return [code for code in MISSING_CODES if code in held][:SPSS_STRING_MISSING_LIMIT]


def spss_files(dataset: Dataset) -> dict[str, bytes]:
    """``<name>.sav``."""
    check_limits_for(dataset, "spss")
    frame = spss_frame(dataset)
    codable = [variable for variable in dataset.variables if variable.codable]
    missing = {variable.name: spss_missing(dataset, variable) for variable in codable}
    formats = {}
    for variable in dataset.variables:
        if variable.kind == Kind.DATE:
            formats[variable.name] = "DATE11"
        elif variable.kind in (Kind.INTEGER, Kind.BOOLEAN, Kind.CHOICE):
            formats[variable.name] = "F8.0"
        elif variable.kind == Kind.DECIMAL:
            formats[variable.name] = decimal_format(dataset, variable)
    name = f"{dataset.name}.sav"
    return {
        name: written_bytes(
            name,
            lambda path: pyreadstat.write_sav(
                frame,
                path,
                file_label=dataset.label,
                column_labels={v.name: v.label for v in dataset.variables},
                variable_value_labels={
                    v.name: spss_value_labels(v)
                    for v in dataset.variables
                    if spss_value_labels(v)
                },
                missing_ranges={
                    name: ranges for name, ranges in missing.items() if ranges
                },
                variable_measure={v.name: MEASURE[v.kind] for v in dataset.variables},
                variable_format=formats,
            ),
        )
    }

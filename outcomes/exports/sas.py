"""SAS export: a transport file (``<name>.xpt``, XPORT version 8, which keeps
names of 32 characters and labels of 256) written by pyreadstat, and
``formats.sas`` (``outcomes.exports.sas_program``) that reads it into SAS with
value formats, labels and the missing-data codes.

pyreadstat 1.3.8 cannot write SAS special missing values into a transport
file (``write_xport`` takes no missing values), so in the file:

* a numeric or date variable that may be coded has a companion text column
  ``<name>_code`` holding the code (blank where the cell holds a value or is
  blank), and the variable itself is missing (``.``) in a coded cell, never
  a number a reader could average;
* a text variable holds the code as its text;
* choice and yes/no variables are the labelled numbers of ``outcomes.
  exports.labelled``; dates carry the DATE9. format.

``formats.sas`` turns each companion code into SAS's special missing value
(.A NA, .B UNK, .C ND, .D ILL, .E DEC, .F DIED), which its formats name.
"""

import pandas as pd
import pyreadstat

from outcomes.exports._files import written_bytes
from outcomes.exports.dataset import (
    NUMERIC_KINDS,
    Coded,
    Dataset,
    Kind,
    Variable,
    check_limits_for,
    companion_name,
)
from outcomes.exports.labelled import column_series, stored_value
from outcomes.exports.sas_program import formats_program

XPORT_VERSION = 8


def _sas_cell(variable: Variable, cell):
    if cell is None:
        return None
    if isinstance(cell, Coded):
        return None if variable.kind in NUMERIC_KINDS else cell.code
    return stored_value(variable, cell)


def _companion_label(variable: Variable) -> str:
    return f"Missing-data code of {variable.name}"


def sas_frame(dataset: Dataset) -> tuple[pd.DataFrame, dict[str, str]]:
    """The data as pyreadstat writes it, each companion code column after its
    variable, and the labels of all columns."""
    columns: dict[str, pd.Series] = {}
    labels: dict[str, str] = {}
    for variable in dataset.variables:
        cells = dataset.column(variable)
        columns[variable.name] = column_series(
            variable.name,
            [_sas_cell(variable, cell) for cell in cells],
            numeric=variable.kind in NUMERIC_KINDS,
        )
        labels[variable.name] = variable.label
        if variable.codable and variable.kind in NUMERIC_KINDS:
            companion = companion_name(variable)
            columns[companion] = pd.Series(
                [cell.code if isinstance(cell, Coded) else "" for cell in cells],
                name=companion,
                dtype=object,
            )
            labels[companion] = _companion_label(variable)
    return pd.DataFrame(columns), labels


def sas_files(dataset: Dataset) -> dict[str, bytes]:
    """``<name>.xpt`` and ``formats.sas``."""
    check_limits_for(dataset, "sas")
    frame, labels = sas_frame(dataset)
    formats = {
        variable.name: "DATE9."
        for variable in dataset.variables
        if variable.kind == Kind.DATE
    }
    name = f"{dataset.name}.xpt"
    return {
        name: written_bytes(
            name,
            lambda path: pyreadstat.write_xport(
                frame,
                path,
                file_label=dataset.label,
                column_labels=labels,
                table_name=dataset.name,
                file_format_version=XPORT_VERSION,
                variable_format=formats,
            ),
        ),
        "formats.sas": formats_program(dataset).encode("utf-8"),
    }

"""Stata export (``.dta``, format 118: Stata 14 and later) through pyreadstat.

* Variable labels, and the dataset label as the file label.
* Choice and yes/no variables are labelled numbers (``outcomes.exports.
  labelled``); text variables cannot carry value labels in Stata.
* A missing-data code in a numeric or date variable is an extended missing
  value, one letter a code (.a NA, .b UNK, .c ND, .d ILL, .e DEC, .f DIED),
  named by the variable's value labels (``ND: Not done``), so Stata treats it
  as missing yet keeps it apart from a blank (``.``). In a text variable the
  code is the text itself.
"""

import pandas as pd
import pyreadstat

from outcomes.exports._files import written_bytes
from outcomes.exports.dataset import (
    NUMERIC_KINDS,
    STATA_TAGS,
    Coded,
    Dataset,
    Kind,
    Variable,
    check_limits_for,
    code_label,
)
from outcomes.exports.labelled import labelled_frame, stored_value, value_labels

STATA_VERSION = 14


def _stata_cell(variable: Variable, cell):
    if cell is None:
        return None
    if isinstance(cell, Coded):
        if variable.kind in NUMERIC_KINDS:
            return STATA_TAGS[cell.code]
        return cell.code
    return stored_value(variable, cell)


def stata_frame(dataset: Dataset) -> pd.DataFrame:
    """The data as pyreadstat writes it: tag letters stand for the codes."""
    return labelled_frame(dataset, _stata_cell)


def stata_value_labels(variable: Variable) -> dict:
    """Value labels, the codes' tag letters included."""
    labels: dict = dict(value_labels(variable))
    if variable.codable and variable.kind in NUMERIC_KINDS:
        labels.update({tag: code_label(code) for code, tag in STATA_TAGS.items()})
    return labels


def stata_files(dataset: Dataset) -> dict[str, bytes]:
    """``<name>.dta``."""
    check_limits_for(dataset, "stata")
    frame = stata_frame(dataset)
    labels = {
        variable.name: stata_value_labels(variable)
        for variable in dataset.variables
        if stata_value_labels(variable)
    }
    tags = {
        variable.name: list(STATA_TAGS.values())
        for variable in dataset.variables
        if variable.codable and variable.kind in NUMERIC_KINDS
    }
    # A date column of blanks alone is a float column: the format makes it a
    # date all the same.
    formats = {
        variable.name: "%td"
        for variable in dataset.variables
        if variable.kind == Kind.DATE
    }
    name = f"{dataset.name}.dta"
    return {
        name: written_bytes(
            name,
            lambda path: pyreadstat.write_dta(
                frame,
                path,
                file_label=dataset.label,
                column_labels={v.name: v.label for v in dataset.variables},
                version=STATA_VERSION,
                variable_value_labels=labels,
                missing_user_values=tags,
                variable_format=formats,
            ),
        )
    }

"""What the labelled formats (Stata, SPSS, SAS transport) store for a cell
that holds a value, and the value labels naming those numbers.

Choice variables become labelled integers, as Stata, SPSS and SAS users
expect (``Variable.numeric_codes``: 1..k in choice order for stored strings,
the score itself for integer choices); yes/no variables become 0/1 labelled
No/Yes; numbers are stored as doubles (pyreadstat reads a blank in a Stata
integer column back as 0 when asked for user-defined missing values; a
double keeps it blank); dates stay dates; text stays text. How a blank or a
missing-data code is stored differs by format and lives in each writer.
"""

from collections.abc import Callable

import pandas as pd

from outcomes.exports.dataset import NUMERIC_KINDS, Dataset, Kind, Variable

YES_NO_LABELS = {0: "No", 1: "Yes"}


def stored_value(variable: Variable, value):
    """The number, date or text a labelled format stores for ``value`` (not
    None, not coded)."""
    if variable.kind == Kind.CHOICE:
        return float(variable.numeric_codes[value])
    if variable.kind == Kind.BOOLEAN:
        return 1.0 if value else 0.0
    if variable.kind in (Kind.INTEGER, Kind.DECIMAL):
        return float(value)
    return value


def value_labels(variable: Variable) -> dict[int, str]:
    """Stored number → label, for choice and yes/no variables (else empty)."""
    if variable.kind == Kind.CHOICE:
        return {
            variable.numeric_codes[value]: label
            for value, label in variable.choices.items()
        }
    if variable.kind == Kind.BOOLEAN:
        return dict(YES_NO_LABELS)
    return {}


def column_series(name: str, cells: list, *, numeric: bool) -> pd.Series:
    """A pandas column pyreadstat types as intended: float64 when a numeric
    or date column holds only numbers and blanks (an object column of blanks
    alone would be written as text; the writer's date format makes a float
    column a date), otherwise object."""
    if numeric and all(cell is None or isinstance(cell, float) for cell in cells):
        return pd.Series(
            [float("nan") if cell is None else cell for cell in cells],
            name=name,
            dtype="float64",
        )
    return pd.Series(cells, name=name, dtype=object)


def labelled_frame(dataset: Dataset, cell: Callable) -> pd.DataFrame:
    """The data as pyreadstat writes it: every variable's column, each value
    through the format's ``cell(variable, value)`` (which stands a format's
    own form in for a missing-data code)."""
    return pd.DataFrame(
        {
            variable.name: column_series(
                variable.name,
                [cell(variable, value) for value in dataset.column(variable)],
                numeric=variable.kind in NUMERIC_KINDS,
            )
            for variable in dataset.variables
        }
    )

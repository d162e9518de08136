"""CSV export: the data as text, and a codebook naming every variable's
label, type, value labels and missing-data codes.

In the data a coded cell holds its code (``ND``), a blank cell is empty, a
choice its stored value (``IF``), a yes/no 1 or 0, a date ``YYYY-MM-DD``.
The code ``NA`` is text here: readers that take ``NA`` for an empty cell
(pandas' default, R's ``read.csv`` default) must be told not to
(``keep_default_na=False``; ``na.strings = ""``).
"""

import csv
import io

from outcomes.exports.dataset import (
    MISSING_CODE_LABELS,
    SAS_SPECIAL,
    SPSS_SENTINELS,
    STATA_TAGS,
    Coded,
    Dataset,
    Kind,
    Variable,
)

CODEBOOK_COLUMNS = [
    "name",
    "label",
    "type",
    "value_labels",
    "numeric_codes",
    "missing_codes",
]


def csv_cell(variable: Variable, cell) -> str:
    """The text of one cell in the data CSV."""
    if cell is None:
        return ""
    if isinstance(cell, Coded):
        return cell.code
    if variable.kind == Kind.BOOLEAN:
        return "1" if cell else "0"
    if variable.kind == Kind.DATE:
        return cell.isoformat()
    return str(cell)


def value_labels_text(variable: Variable) -> str:
    """``IF = Intramedullary fixation; RER = ...`` as the CSV stores them."""
    if variable.kind == Kind.CHOICE:
        return "; ".join(
            f"{value} = {label}" for value, label in variable.choices.items()
        )
    if variable.kind == Kind.BOOLEAN:
        return "0 = No; 1 = Yes"
    return ""


def numeric_codes_text(variable: Variable) -> str:
    """How Stata, SPSS and SAS store a choice held as text here: ``1 = IF;
    2 = RER`` (empty when stored as in the CSV)."""
    if variable.kind != Kind.CHOICE or variable.integer_choices:
        return ""
    return "; ".join(
        f"{number} = {value}" for value, number in variable.numeric_codes.items()
    )


def missing_codes_text(variable: Variable) -> str:
    """The codes a variable may hold, each with its meaning and how the
    labelled formats store it in a numeric variable."""
    if not variable.codable:
        return ""
    if variable.kind == Kind.TEXT:
        return "; ".join(
            f"{code} = {label}" for code, label in MISSING_CODE_LABELS.items()
        )
    return "; ".join(
        f"{code} = {label} [Stata .{STATA_TAGS[code]}, SPSS {SPSS_SENTINELS[code]}, "
        f"SAS .{SAS_SPECIAL[code]}]"
        for code, label in MISSING_CODE_LABELS.items()
    )


def _csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def data_csv(dataset: Dataset) -> bytes:
    """The data CSV (UTF-8): a header of variable names, then one line a row."""
    variables = dataset.variables
    return _csv_bytes(
        [variable.name for variable in variables],
        [
            [csv_cell(variable, row.get(variable.name)) for variable in variables]
            for row in dataset.rows
        ],
    )


def codebook_csv(dataset: Dataset) -> bytes:
    """The codebook CSV: ``CODEBOOK_COLUMNS``, one line a variable."""
    return _csv_bytes(
        CODEBOOK_COLUMNS,
        [
            [
                variable.name,
                variable.label,
                variable.kind.value,
                value_labels_text(variable),
                numeric_codes_text(variable),
                missing_codes_text(variable),
            ]
            for variable in dataset.variables
        ],
    )


def csv_files(dataset: Dataset) -> dict[str, bytes]:
    """``<name>.csv`` and ``<name>_codebook.csv``."""
    return {
        f"{dataset.name}.csv": data_csv(dataset),
        f"{dataset.name}_codebook.csv": codebook_csv(dataset),
    }

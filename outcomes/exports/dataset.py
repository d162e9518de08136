"""One dataset to export (PROTOCOL §14): its variables, their labels and value
labels, and rows whose cells hold a value, nothing (blank), or a missing-data
code (PROTOCOL §7, ``Coded``).

The description is plain Python, checked once when built, so every writer can
trust it: a cell fits its variable's kind, a code appears only in a variable
that may be coded, names are identifiers unique whatever their case (SPSS and
SAS fold case). ``check_limits_for`` adds each format's limits on names and
labels; each writer calls it before writing.

Partial dates (year, or year and month) are not dates: give them a ``text``
variable, so they are exported as entered.
"""

import dataclasses
import datetime
import decimal
import enum
import re
from collections.abc import Mapping, Sequence

from crf.models import MissingCode


class ExportDataError(ValueError):
    """The dataset cannot be exported as described (the message says why)."""


class Kind(enum.StrEnum):
    INTEGER = "integer"
    DECIMAL = "decimal"
    TEXT = "text"
    DATE = "date"
    BOOLEAN = "boolean"
    CHOICE = "choice"


# Kinds the labelled formats (Stata, SPSS, SAS) store as numbers: a code in
# them needs a numeric stand-in (an extended missing value, a sentinel, a
# companion column); a code in a text variable is simply its text.
NUMERIC_KINDS = frozenset(set(Kind) - {Kind.TEXT})

MISSING_CODES = tuple(code.value for code in MissingCode)
MISSING_CODE_LABELS = {code.value: str(code.label) for code in MissingCode}


# SPSS stores a code in a numeric variable as a number declared missing:
# -91 NA, -92 UNK, ... -96 DIED (no measurement of the trial takes them, and
# a codable variable may not: ``Variable.check_cell``).
SPSS_SENTINELS = {code: -91 - index for index, code in enumerate(MISSING_CODES)}
SENTINEL_LOW, SENTINEL_HIGH = min(SPSS_SENTINELS.values()), max(SPSS_SENTINELS.values())
# Stata's extended missing values .a-.f and SAS's special missing values
# .A-.F, in the order of the codes.
STATA_TAGS = dict(zip(MISSING_CODES, "abcdef", strict=True))
SAS_SPECIAL = dict(zip(MISSING_CODES, "ABCDEF", strict=True))


def code_label(code: str) -> str:
    """The value label naming a code in the labelled formats: ``ND: Not done``."""
    return f"{code}: {MISSING_CODE_LABELS[code]}"


@dataclasses.dataclass(frozen=True)
class Coded:
    """A cell holding a missing-data code (``Coded("ND")``) instead of a value:
    asked, not answered, and why. Never exported as blank or 0."""

    code: str

    def __post_init__(self):
        if self.code not in MISSING_CODE_LABELS:
            raise ExportDataError(
                f"{self.code!r} is not a missing-data code "
                f"(one of {', '.join(MISSING_CODES)})."
            )


@dataclasses.dataclass(frozen=True)
class Variable:
    """One column. ``choices`` (choice variables only) maps each stored value,
    in display order, to its label; stored values are all strings (``"IF"``)
    or all integers (a score). ``codable``: a cell may hold a ``Coded``."""

    name: str
    label: str
    kind: Kind
    choices: Mapping[str | int, str] | None = None
    codable: bool = False

    def __post_init__(self):
        object.__setattr__(self, "kind", Kind(self.kind))
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", self.name):
            raise ExportDataError(
                f"Variable name {self.name!r} must start with a letter and hold "
                "only letters, digits and underscores."
            )
        if (self.kind == Kind.CHOICE) != bool(self.choices):
            raise ExportDataError(
                f"{self.name}: a choice variable needs its choices, and only a "
                "choice variable has them."
            )
        if self.choices:
            object.__setattr__(self, "choices", dict(self.choices))
            kinds = {_choice_value_kind(value) for value in self.choices}
            if len(kinds) != 1 or None in kinds:
                raise ExportDataError(
                    f"{self.name}: stored choice values must be all strings or "
                    "all integers."
                )

    @property
    def integer_choices(self) -> bool:
        """Whether the stored choice values are integers (kept as they are)."""
        return self.kind == Kind.CHOICE and isinstance(next(iter(self.choices)), int)

    @property
    def numeric_codes(self) -> dict[str | int, int]:
        """Stored choice value → the integer the labelled formats store: the
        value itself when it is an integer, otherwise 1..k in choice order."""
        if self.integer_choices:
            return {value: value for value in self.choices}
        return {value: position for position, value in enumerate(self.choices, 1)}

    def check_cell(self, cell) -> None:
        """Raise ``ExportDataError`` unless ``cell`` may stand in this column."""
        if cell is None:
            return
        if isinstance(cell, Coded):
            if not self.codable:
                raise ExportDataError(
                    f"{self.name} may not hold a missing-data code ({cell.code})."
                )
            return
        if not _fits_kind(self, cell):
            raise ExportDataError(f"{self.name} ({self.kind}) cannot hold {cell!r}.")
        if self.codable and self.kind in (Kind.INTEGER, Kind.DECIMAL, Kind.CHOICE):
            number = self.numeric_codes[cell] if self.kind == Kind.CHOICE else cell
            if SENTINEL_LOW <= number <= SENTINEL_HIGH:
                raise ExportDataError(
                    f"{self.name}: the value {number} is one SPSS uses for a "
                    f"missing-data code ({SENTINEL_LOW} to {SENTINEL_HIGH})."
                )


def _choice_value_kind(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int
    if isinstance(value, str):
        return str
    return None


def _fits_kind(variable: Variable, value) -> bool:
    kind = variable.kind
    if kind == Kind.CHOICE:
        return not isinstance(value, bool) and value in variable.choices
    if kind == Kind.BOOLEAN:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind == Kind.INTEGER:
        return isinstance(value, int)
    if kind == Kind.DECIMAL:
        return isinstance(value, int | float | decimal.Decimal)
    if kind == Kind.DATE:
        return isinstance(value, datetime.date) and not isinstance(
            value, datetime.datetime
        )
    return isinstance(value, str)


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A table to export. ``name`` names the files (an identifier); each row
    maps variable names to cells, a name left out being a blank cell."""

    name: str
    label: str
    variables: Sequence[Variable]
    rows: Sequence[Mapping[str, object]]

    def __post_init__(self):
        object.__setattr__(self, "variables", tuple(self.variables))
        object.__setattr__(self, "rows", tuple(self.rows))
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", self.name):
            raise ExportDataError(
                f"Dataset name {self.name!r} must start with a letter and hold "
                "only letters, digits and underscores."
            )
        folded = [variable.name.lower() for variable in self.variables]
        repeated = sorted({name for name in folded if folded.count(name) > 1})
        if repeated:
            raise ExportDataError(
                "Variable names must differ whatever their case: " + ", ".join(repeated)
            )
        by_name = {variable.name: variable for variable in self.variables}
        for number, row in enumerate(self.rows, 1):
            unknown = sorted(set(row) - set(by_name))
            if unknown:
                raise ExportDataError(
                    f"Row {number} names unknown variables: {', '.join(unknown)}"
                )
            for name, cell in row.items():
                by_name[name].check_cell(cell)

    def column(self, variable: Variable) -> list:
        """The cells of one variable, row by row (None where left out)."""
        return [row.get(variable.name) for row in self.rows]


# Longest variable name and variable label each format keeps. SAS: transport
# version 8 (pyreadstat writes it; version 5 would cut names to 8 characters
# and labels to 40).
NAME_LIMITS = {"stata": 32, "spss": 64, "sas": 32}
LABEL_LIMITS = {"stata": 80, "spss": 256, "sas": 256}
# Longest dataset (file) label: pyreadstat cuts SPSS's at 64 and SAS
# transport's at 40 without a word, and refuses Stata's over 80.
DATASET_LABEL_LIMITS = {"stata": 80, "spss": 64, "sas": 40}
# Words Stata reserves; a variable may not take them.
STATA_RESERVED = frozenset(
    {
        "_all", "_b", "byte", "_coef", "_cons", "double", "float", "if", "in",
        "int", "long", "_n", "_N", "_pi", "_pred", "_rc", "_skip", "str",
        "strL", "using", "with",
    }
)  # fmt: skip
COMPANION_SUFFIX = "_code"


def companion_name(variable: Variable) -> str:
    """The column holding a numeric variable's codes where the format has no
    coded missing value of its own (SAS transport, R)."""
    return f"{variable.name}{COMPANION_SUFFIX}"


def companion_variables(dataset: Dataset) -> list[Variable]:
    """The numeric codable variables, which get a companion code column in
    SAS transport and R."""
    return [
        variable
        for variable in dataset.variables
        if variable.codable and variable.kind in NUMERIC_KINDS
    ]


def check_limits_for(dataset: Dataset, export_format: str) -> None:
    """Raise ``ExportDataError`` naming every variable whose name or label the
    format cannot keep (``export_format``: stata, spss, sas or r)."""
    problems = []
    name_limit = NAME_LIMITS.get(export_format)
    label_limit = LABEL_LIMITS.get(export_format)
    names = [variable.name for variable in dataset.variables]
    if export_format in ("sas", "r"):
        taken = {name.lower() for name in names}
        for variable in companion_variables(dataset):
            companion = companion_name(variable)
            names.append(companion)
            if companion.lower() in taken:
                problems.append(
                    f"{variable.name}: its code column {companion} clashes with a "
                    "variable of that name"
                )
    for name in names:
        if name_limit and len(name) > name_limit:
            problems.append(f"{name}: name longer than {name_limit} characters")
        if export_format == "stata" and (
            name in STATA_RESERVED or re.fullmatch(r"str\d+", name)
        ):
            problems.append(f"{name}: a word Stata reserves")
    for variable in dataset.variables:
        if label_limit and len(variable.label) > label_limit:
            problems.append(
                f"{variable.name}: label longer than {label_limit} characters"
            )
    dataset_limit = DATASET_LABEL_LIMITS.get(export_format)
    if dataset_limit and len(dataset.label) > dataset_limit:
        problems.append(
            f"{dataset.name}: dataset label longer than {dataset_limit} characters"
        )
    if export_format == "sas":
        # A choice or yes/no variable's SAS format is its name and "F"
        # (formats.sas), itself at most 32 characters.
        problems.extend(
            f"{variable.name}: name too long for its SAS format {variable.name}F"
            for variable in dataset.variables
            if variable.kind in (Kind.CHOICE, Kind.BOOLEAN)
            and len(variable.name) >= NAME_LIMITS["sas"]
        )
    if export_format == "sas" and len(dataset.name) > NAME_LIMITS["sas"]:
        problems.append(f"{dataset.name}: dataset name longer than 32 characters")
    if problems:
        raise ExportDataError(
            f"Cannot export to {export_format}: " + "; ".join(problems)
        )

"""``formats.sas``: the SAS program that reads ``<name>.xpt`` and restores
what a transport file written by pyreadstat cannot hold (``outcomes.exports.
sas``).

Hand-written text, as no library writes SAS programs. It

* reads the version 8 transport file with SAS's ``%xpt2loc`` macro (the
  XPORT library engine reads version 5 only);
* declares the formats: one a choice or yes/no variable (its name and
  ``F``), ``MCNUM`` and ``MCDATE`` for codable numbers and dates, each naming
  the special missing values .A-.F; and the informat ``MCODE`` turning a code
  into its special missing value;
* in a DATA step sets each coded cell to its special missing value, then
  applies labels and formats.

Strings are single-quoted so SAS does not resolve ``&`` or ``%`` in a label.
"""

from outcomes.exports.dataset import (
    MISSING_CODE_LABELS,
    NUMERIC_KINDS,
    SAS_SPECIAL,
    Dataset,
    Kind,
    Variable,
    code_label,
    companion_name,
)
from outcomes.exports.labelled import value_labels

CODE_INFORMAT = "mcode"
CODED_NUMBER_FORMAT = "mcnum"
CODED_DATE_FORMAT = "mcdate"


def sas_string(text: str) -> str:
    """``text`` as a single-quoted SAS literal."""
    return "'" + text.replace("'", "''") + "'"


def format_name(variable: Variable) -> str | None:
    """The format a variable gets in the DATA step (None: none)."""
    if variable.kind in (Kind.CHOICE, Kind.BOOLEAN):
        return f"{variable.name}F"
    if not variable.codable:
        return "date9" if variable.kind == Kind.DATE else None
    if variable.kind == Kind.DATE:
        return CODED_DATE_FORMAT
    if variable.kind in (Kind.INTEGER, Kind.DECIMAL):
        return CODED_NUMBER_FORMAT
    return None


def _code_lines() -> list[str]:
    return [
        f"    .{special} = {sas_string(code_label(code))}"
        for code, special in SAS_SPECIAL.items()
    ]


def _value_format(variable: Variable) -> list[str]:
    lines = [f"  value {format_name(variable)}"]
    lines += [
        f"    {number} = {sas_string(label)}"
        for number, label in value_labels(variable).items()
    ]
    if variable.codable:
        lines += _code_lines()
    lines[-1] += ";"
    return lines


def _header(dataset: Dataset) -> list[str]:
    codes = [
        f"     .{special} {code} {MISSING_CODE_LABELS[code]}"
        for code, special in SAS_SPECIAL.items()
    ]
    return [
        f"/* formats.sas: reads {dataset.name}.xpt (SAS transport, version 8)",
        f"   into WORK.{dataset.name.upper()} with labels, value formats and the",
        "   missing-data codes. Run it from the folder holding the file.",
        "   In the transport file a coded number or date is missing (.) and its",
        "   code is in the text column <variable>_code; this program makes it",
        "   the special missing value of its code:",
        *codes,
        "*/",
        "",
    ]


def _proc_format(dataset: Dataset) -> list[str]:
    lines = ["proc format;", f"  invalue {CODE_INFORMAT}"]
    lines += [
        f"    {sas_string(code)} = .{special}" for code, special in SAS_SPECIAL.items()
    ]
    lines[-1] += ";"
    kinds = {v.kind for v in dataset.variables if v.codable}
    if kinds & {Kind.INTEGER, Kind.DECIMAL}:
        lines += [f"  value {CODED_NUMBER_FORMAT}", *_code_lines()]
        lines.append("    other = [best32.];")
    if Kind.DATE in kinds:
        lines += [f"  value {CODED_DATE_FORMAT}", *_code_lines()]
        lines.append("    other = [date9.];")
    for variable in dataset.variables:
        if variable.kind in (Kind.CHOICE, Kind.BOOLEAN):
            lines += _value_format(variable)
    lines += ["run;", ""]
    return lines


def _data_step(dataset: Dataset) -> list[str]:
    name = dataset.name
    lines = [
        f"data work.{name}({sas_label_option(dataset.label)});",
        f"  set work.{name};",
    ]
    for variable in dataset.variables:
        if variable.codable and variable.kind in NUMERIC_KINDS:
            companion = companion_name(variable)
            lines.append(
                f"  if not missing({companion}) then "
                f"{variable.name} = input({companion}, {CODE_INFORMAT}.);"
            )
    lines.append("  label")
    lines += [
        f"    {variable.name} = {sas_string(variable.label)}"
        for variable in dataset.variables
    ]
    lines[-1] += ";"
    formatted = [
        (variable.name, format_name(variable))
        for variable in dataset.variables
        if format_name(variable)
    ]
    if formatted:
        lines.append("  format")
        lines += [f"    {variable} {fmt}." for variable, fmt in formatted]
        lines[-1] += ";"
    lines += ["run;", ""]
    return lines


def sas_label_option(label: str) -> str:
    return f"label={sas_string(label)}"


def formats_program(dataset: Dataset) -> str:
    """The text of ``formats.sas`` for ``dataset``."""
    lines = [
        *_header(dataset),
        f"%xpt2loc(libref=work, filespec={sas_string(dataset.name + '.xpt')});",
        "",
        *_proc_format(dataset),
        *_data_step(dataset),
    ]
    return "\n".join(lines)

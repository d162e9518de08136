"""R export: the data CSV (``outcomes.exports.csv_codebook``) and
``load_<name>.R``, a base-R script (no package needed) that reads it.

Hand-written text, as no library writes R scripts. The script

* reads every column as text with ``na.strings = ""``, so only an empty
  cell is a blank (R's default would also take the code ``NA`` for one);
* moves each missing-data code of a numeric, date, yes/no or choice
  variable into a companion factor column ``<name>_code`` (levels NA, UNK,
  ND, ILL, DEC, DIED; ``NA`` where the cell holds a value or is blank), and
  leaves ``NA`` in the variable; a text variable keeps its code as text;
* converts integers, decimals, dates (``as.Date``) and yes/no (1/0 to
  ``TRUE``/``FALSE``), and makes each choice variable a factor whose levels
  are the stored values and whose labels are the choice labels;
* sets each variable's ``label`` attribute (the convention of Hmisc, haven
  and labelled) and the data frame's.

R literals are written by ``json.dumps``: a JSON string is also a valid R
string literal (the same escapes for quotes, backslashes and controls).
"""

import json

from outcomes.exports.csv_codebook import data_csv
from outcomes.exports.dataset import (
    MISSING_CODE_LABELS,
    NUMERIC_KINDS,
    Dataset,
    Kind,
    Variable,
    check_limits_for,
    companion_name,
)


def r_string(text: str) -> str:
    """``text`` as an R string literal."""
    return json.dumps(text, ensure_ascii=False)


def r_vector(texts) -> str:
    return "c(" + ", ".join(r_string(str(text)) for text in texts) + ")"


def _conversion(variable: Variable, column: str) -> str | None:
    kind = variable.kind
    if kind == Kind.INTEGER:
        return f"as.integer({column})"
    if kind == Kind.DECIMAL:
        return f"as.numeric({column})"
    if kind == Kind.DATE:
        return f'as.Date({column}, format = "%Y-%m-%d")'
    if kind == Kind.BOOLEAN:
        return f'{column} == "1"'
    if kind == Kind.CHOICE:
        return (
            f"factor({column}, levels = {r_vector(variable.choices)}, "
            f"labels = {r_vector(variable.choices.values())})"
        )
    return None


def _header(dataset: Dataset) -> list[str]:
    return [
        f"# load_{dataset.name}.R: reads {dataset.name}.csv into the data frame",
        f"# `{dataset.name}` with variable labels, choice factors and missing-data",
        "# codes. Base R only; run it from the folder holding the CSV:",
        f'#   source("load_{dataset.name}.R")',
        "# A coded cell (a missing-data code instead of a value) is NA in its",
        "# variable and its code is in the factor column <variable>_code; a text",
        "# variable keeps its code as text.",
        "",
    ]


def _variable_lines(dataset_name: str, variable: Variable) -> list[str]:
    column = f"{dataset_name}[[{r_string(variable.name)}]]"
    lines = [f"# {variable.name}: {variable.kind.value}"]
    if variable.codable and variable.kind in NUMERIC_KINDS:
        lines.append(
            f"{dataset_name} <- split_code({dataset_name}, {r_string(variable.name)})"
        )
    conversion = _conversion(variable, column)
    if conversion:
        lines.append(f"{column} <- {conversion}")
    lines.append(f'attr({column}, "label") <- {r_string(variable.label)}')
    return lines


def load_script(dataset: Dataset) -> str:
    """The text of ``load_<name>.R``."""
    name = dataset.name
    lines = [
        *_header(dataset),
        f"{name} <- read.csv(",
        f"  {r_string(name + '.csv')},",
        '  colClasses = "character",',
        '  na.strings = "",',
        "  check.names = FALSE,",
        '  fileEncoding = "UTF-8"',
        ")",
        "",
        "missing_codes <- c(",
        ",\n".join(
            f"  {r_string(code)} = {r_string(label)}"
            for code, label in MISSING_CODE_LABELS.items()
        ),
        ")",
        "",
        "# Moves the codes of one column into <column>_code, leaving NA.",
        "split_code <- function(data, column) {",
        "  values <- data[[column]]",
        "  coded <- !is.na(values) & values %in% names(missing_codes)",
        "  codes <- ifelse(coded, values, NA_character_)",
        '  code_column <- paste0(column, "_code")',
        "  data[[code_column]] <- factor(codes, levels = names(missing_codes))",
        '  label <- paste("Missing-data code of", column)',
        '  attr(data[[code_column]], "label") <- label',
        "  values[coded] <- NA_character_",
        "  data[[column]] <- values",
        "  data",
        "}",
        "",
    ]
    order = []
    for variable in dataset.variables:
        lines += _variable_lines(name, variable)
        order.append(variable.name)
        if variable.codable and variable.kind in NUMERIC_KINDS:
            order.append(companion_name(variable))
    lines += [
        "",
        "# Each code column next to its variable.",
        f"{name} <- {name}[{r_vector(order)}]",
        f'attr({name}, "label") <- {r_string(dataset.label)}',
        "",
    ]
    return "\n".join(lines)


def r_files(dataset: Dataset) -> dict[str, bytes]:
    """``<name>.csv`` and ``load_<name>.R``."""
    check_limits_for(dataset, "r")
    return {
        f"{dataset.name}.csv": data_csv(dataset),
        f"load_{dataset.name}.R": load_script(dataset).encode("utf-8"),
    }

"""The SAS program (``formats.sas``) and the R script (``load_<name>.R``)
that come with the SAS and R exports. Neither SAS nor R runs in CI, so the
scripts' content is checked line by line against what each must say for the
sample dataset (``sample``): its formats, levels, labels and codes.
"""

import pyreadstat

from outcomes.exports import r_files, sas_files
from outcomes.exports.dataset import Coded, Dataset, Variable
from tests.outcomes.exports.sample import sample_dataset

CODABLE_NUMERIC = [
    "age",
    "haemoglobin",
    "surgery_date",
    "procedure",
    "ecog",
    "transfusion",
]
SAS_CODE_LINES = [
    "    .A = 'NA: Not applicable'",
    "    .B = 'UNK: Unknown'",
    "    .C = 'ND: Not done'",
    "    .D = 'ILL: Participant too ill'",
    "    .E = 'DEC: Declined'",
    "    .F = 'DIED: Participant died';",
]


def sas_program(dataset=None) -> str:
    return sas_files(dataset or sample_dataset())["formats.sas"].decode("utf-8")


def r_script(dataset=None) -> str:
    dataset = dataset or sample_dataset()
    return r_files(dataset)[f"load_{dataset.name}.R"].decode("utf-8")


def block(text: str, first_line: str, length: int) -> list[str]:
    """The ``length`` lines of ``text`` starting at ``first_line``."""
    lines = text.splitlines()
    start = lines.index(first_line)
    return lines[start : start + length]


def assert_balanced(text: str, quotes: str, comment: str | None = None):
    """Brackets balance and every string closes, outside strings (and
    comments). A doubled quote inside a string is SAS's escape; a backslash
    escapes in R."""
    stack, pairs = [], {")": "(", "]": "[", "}": "{"}
    for line in text.splitlines():
        if comment and line.lstrip().startswith(comment):
            continue
        quote, escaped = None, False
        for char in line:
            if quote:
                if escaped:
                    escaped = False
                elif char == "\\" and quotes == '"':
                    escaped = True
                elif char == quote:
                    quote = None
            elif char in quotes:
                quote = char
            elif char in "([{":
                stack.append(char)
            elif char in pairs:
                assert stack and stack.pop() == pairs[char], line
        assert quote is None, line
    assert stack == []


def test_sas_program_reads_the_version_8_file_and_maps_codes_to_special_missing():
    """``%xpt2loc`` reads transport version 8; the informat turns each code
    into its special missing value, in the order NA..DIED = .A...F."""
    program = sas_program()
    assert "%xpt2loc(libref=work, filespec='perform_sample.xpt');" in program
    assert block(program, "  invalue mcode", 7) == [
        "  invalue mcode",
        "    'NA' = .A",
        "    'UNK' = .B",
        "    'ND' = .C",
        "    'ILL' = .D",
        "    'DEC' = .E",
        "    'DIED' = .F;",
    ]


def test_sas_formats_name_choices_yes_no_and_codes():
    """A choice's format gives its 1..k numbers (or scores) their labels and
    names the six codes; yes/no is 0 No, 1 Yes; codable numbers and dates
    keep their values' own display (best32., date9.) beside the codes."""
    program = sas_program()
    assert block(program, "  value procedureF", 10) == [
        "  value procedureF",
        "    1 = 'Intramedullary fixation'",
        "    2 = 'Resection and endoprosthetic reconstruction'",
        "    3 = 'Other'",
        *[line.rstrip(";") for line in SAS_CODE_LINES[:5]],
        SAS_CODE_LINES[5],
    ]
    assert block(program, "  value ecogF", 6) == [
        "  value ecogF",
        "    0 = 'Fully active'",
        "    1 = 'Restricted in strenuous activity'",
        "    2 = 'Ambulatory, capable of self-care'",
        "    3 = 'Capable of limited self-care'",
        "    4 = 'Completely disabled'",
    ]
    assert block(program, "  value transfusionF", 3) == [
        "  value transfusionF",
        "    0 = 'No'",
        "    1 = 'Yes'",
    ]
    assert block(program, "  value mcnum", 8)[-1] == "    other = [best32.];"
    assert block(program, "  value mcdate", 8)[-1] == "    other = [date9.];"
    assert block(program, "  value mcnum", 2)[1] == "    .A = 'NA: Not applicable'"


def test_sas_data_step_restores_codes_labels_and_formats(tmp_path):
    """Each numeric codable variable takes its companion's code as a special
    missing value (no line for the text variable, whose code is its text),
    and every companion the program reads is a column of the transport file;
    labels are quoted with SAS's doubled quote; formats are applied."""
    files = sas_files(sample_dataset())
    program = files["formats.sas"].decode("utf-8")
    restores = [line for line in program.splitlines() if "input(" in line]
    assert restores == [
        f"  if not missing({name}_code) then {name} = input({name}_code, mcode.);"
        for name in CODABLE_NUMERIC
    ]
    path = tmp_path / "perform_sample.xpt"
    path.write_bytes(files["perform_sample.xpt"])
    frame, _meta = pyreadstat.read_xport(str(path))
    assert {f"{name}_code" for name in CODABLE_NUMERIC} <= set(frame.columns)

    assert "data work.perform_sample(label='PERFORM export sample');" in program
    assert "    note = 'Coordinator''s note';" in program
    assert (
        "    haemoglobin = 'Haemoglobin before surgery, grams per litre (g/L)'"
        in program
    )
    assert block(program, "  format", 7) == [
        "  format",
        "    age mcnum.",
        "    haemoglobin mcnum.",
        "    surgery_date mcdate.",
        "    procedure procedureF.",
        "    ecog ecogF.",
        "    transfusion transfusionF.;",
    ]
    assert_balanced(program, "'")


def test_sas_program_declares_only_the_formats_the_dataset_uses():
    """Without codable variables there is no code format; a date that may not
    be coded is shown with date9.; the informat is always there."""
    dataset = Dataset(
        name="plain",
        label="Plain",
        variables=[
            Variable("visit_date", "Visit date", "date"),
            Variable("count", "Count", "integer"),
        ],
        rows=[{"visit_date": None, "count": 3}],
    )
    program = sas_program(dataset)
    assert "value mcnum" not in program and "value mcdate" not in program
    assert "  invalue mcode" in program
    assert block(program, "  format", 2) == ["  format", "    visit_date date9.;"]
    assert "input(" not in program


def test_r_script_reads_text_keeping_the_code_na():
    """Every column is read as text and only an empty cell is NA, so the code
    ``NA`` (not applicable) is not taken for a blank."""
    script = r_script()
    assert block(script, "perform_sample <- read.csv(", 7) == [
        "perform_sample <- read.csv(",
        '  "perform_sample.csv",',
        '  colClasses = "character",',
        '  na.strings = "",',
        "  check.names = FALSE,",
        '  fileEncoding = "UTF-8"',
        ")",
    ]
    assert block(script, "missing_codes <- c(", 8) == [
        "missing_codes <- c(",
        '  "NA" = "Not applicable",',
        '  "UNK" = "Unknown",',
        '  "ND" = "Not done",',
        '  "ILL" = "Participant too ill",',
        '  "DEC" = "Declined",',
        '  "DIED" = "Participant died"',
        ")",
    ]


def test_r_script_splits_codes_into_companion_factors():
    """``split_code`` moves the codes into ``<column>_code`` (a factor whose
    levels are the six codes) and leaves NA; it runs for each numeric
    codable variable before its conversion, never for a text variable."""
    script = r_script()
    assert block(script, "split_code <- function(data, column) {", 12) == [
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
    ]
    splits = [line for line in script.splitlines() if "<- split_code(" in line]
    assert splits == [
        f'perform_sample <- split_code(perform_sample, "{name}")'
        for name in CODABLE_NUMERIC
    ]
    assert block(script, "# age: integer", 4) == [
        "# age: integer",
        'perform_sample <- split_code(perform_sample, "age")',
        'perform_sample[["age"]] <- as.integer(perform_sample[["age"]])',
        'attr(perform_sample[["age"]], "label") <- "Age at screening (years)"',
    ]
    assert block(script, "# implant: text", 2) == [
        "# implant: text",
        'attr(perform_sample[["implant"]], "label") <- "Implant used"',
    ]


def test_r_script_converts_kinds_and_makes_choice_factors():
    """Choices become factors whose levels are the stored values (scores as
    text, as read) and whose labels are the choice labels; 1/0 becomes
    TRUE/FALSE; decimals numeric; dates ``as.Date``."""
    script = r_script()
    assert (
        'perform_sample[["procedure"]] <- factor(perform_sample[["procedure"]], '
        'levels = c("IF", "RER", "other"), labels = c("Intramedullary fixation", '
        '"Resection and endoprosthetic reconstruction", "Other"))'
    ) in script
    assert (
        'perform_sample[["ecog"]] <- factor(perform_sample[["ecog"]], '
        'levels = c("0", "1", "2", "3", "4"), labels = c("Fully active", '
        '"Restricted in strenuous activity", "Ambulatory, capable of self-care", '
        '"Capable of limited self-care", "Completely disabled"))'
    ) in script
    assert (
        'perform_sample[["transfusion"]] <- perform_sample[["transfusion"]] == "1"'
    ) in script
    assert (
        'perform_sample[["haemoglobin"]] <- as.numeric(perform_sample[["haemoglobin"]])'
    ) in script
    assert (
        'perform_sample[["surgery_date"]] <- '
        'as.Date(perform_sample[["surgery_date"]], format = "%Y-%m-%d")'
    ) in script
    assert "as." not in "".join(
        line for line in script.splitlines() if '[["note"]] <-' in line
    )


def test_r_script_orders_code_columns_and_labels_the_data_frame():
    script = r_script()
    assert (
        'perform_sample <- perform_sample[c("participant_id", "age", "age_code", '
        '"haemoglobin", "haemoglobin_code", "surgery_date", "surgery_date_code", '
        '"implant", "procedure", "procedure_code", "ecog", "ecog_code", '
        '"transfusion", "transfusion_code", "note")]'
    ) in script
    assert 'attr(perform_sample, "label") <- "PERFORM export sample"' in script
    assert_balanced(script, '"', comment="#")


def test_r_script_escapes_quotes_and_backslashes_in_labels():
    """A label holding a double quote and a backslash is written as an R
    literal: \\" and \\\\ escaped."""
    dataset = Dataset(
        name="odd",
        label="Odd",
        variables=[Variable("size", 'Size in "inches" \\ cm', "decimal", codable=True)],
        rows=[{"size": Coded("UNK")}],
    )
    script = r_script(dataset)
    assert 'attr(odd[["size"]], "label") <- "Size in \\"inches\\" \\\\ cm"' in script
    assert_balanced(script, '"', comment="#")

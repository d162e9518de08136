"""The dataset description refuses what no export could carry faithfully,
and each writer refuses names and labels its format would cut or reject,
with a message naming the variable (not pyreadstat's error, not a silently
truncated file)."""

import datetime

import pytest

from outcomes.exports import sas_files, spss_files, stata_files
from outcomes.exports.dataset import (
    Coded,
    Dataset,
    ExportDataError,
    Variable,
    check_limits_for,
)


def one_column(variable: Variable, *cells) -> Dataset:
    return Dataset(
        name="checks",
        label="Checks",
        variables=[variable],
        rows=[{variable.name: cell} for cell in cells],
    )


def test_only_the_six_protocol_codes_exist():
    assert Coded("DIED").code == "DIED"
    with pytest.raises(ExportDataError, match="not a missing-data code"):
        Coded("MISSING")


@pytest.mark.parametrize(
    ("variable", "cell"),
    [
        (Variable("age", "Age", "integer"), "67"),
        (Variable("age", "Age", "integer"), 67.0),
        (Variable("age", "Age", "integer"), True),
        (Variable("hb", "Hb", "decimal"), "121.5"),
        (Variable("seen", "Seen", "date"), datetime.datetime(2025, 3, 1, 9, 0)),
        (Variable("seen", "Seen", "date"), "2025-03"),
        (Variable("smoker", "Smoker", "boolean"), 1),
        (Variable("arm", "Arm", "choice", {"IF": "IF", "RER": "RER"}), "XX"),
        (Variable("ecog", "ECOG", "choice", {0: "a", 1: "b"}), "0"),
        (Variable("implant", "Implant", "text"), 3),
    ],
)
def test_a_cell_must_fit_its_variable(variable, cell):
    """A string in a number, a float in an integer, a datetime or a partial
    date in a date, 1 for a yes/no, an unknown choice: each refused."""
    with pytest.raises(ExportDataError, match="cannot hold"):
        one_column(variable, cell)


def test_a_code_only_where_the_variable_may_be_coded():
    one_column(Variable("age", "Age", "integer", codable=True), Coded("ND"))
    with pytest.raises(ExportDataError, match="may not hold a missing-data code"):
        one_column(Variable("age", "Age", "integer"), Coded("ND"))


def test_a_real_value_may_not_pose_as_an_spss_code():
    """SPSS stores codes as -91..-96: a codable number in that range would
    read back as a code, so it is refused; -90 and -97 are fine, and so is
    -93 where no code can be."""
    codable = Variable("base_excess", "Base excess", "integer", codable=True)
    one_column(codable, -90, -97)
    with pytest.raises(ExportDataError, match="SPSS uses for a missing-data code"):
        one_column(codable, -93)
    one_column(Variable("base_excess", "Base excess", "integer"), -93)


def test_choices_are_all_strings_or_all_integers():
    with pytest.raises(ExportDataError, match="all strings or all integers"):
        Variable("mixed", "Mixed", "choice", {"a": "A", 1: "One"})
    with pytest.raises(ExportDataError, match="all strings or all integers"):
        Variable("flag", "Flag", "choice", {True: "Yes", False: "No"})
    with pytest.raises(ExportDataError, match="needs its choices"):
        Variable("arm", "Arm", "choice")
    with pytest.raises(ExportDataError, match="only a choice variable"):
        Variable("age", "Age", "integer", choices={1: "One"})


def test_integer_choices_are_stored_as_themselves_and_text_choices_as_1_to_k():
    ecog = Variable("ecog", "ECOG", "choice", {0: "Active", 4: "Disabled"})
    assert ecog.numeric_codes == {0: 0, 4: 4}
    arm = Variable("arm", "Arm", "choice", {"RER": "Resection", "IF": "Fixation"})
    assert arm.numeric_codes == {"RER": 1, "IF": 2}  # choice order, not sorted


def test_names_are_identifiers_unique_whatever_their_case():
    with pytest.raises(ExportDataError, match="must start with a letter"):
        Variable("1st_visit", "First visit", "date")
    with pytest.raises(ExportDataError, match="must start with a letter"):
        Variable("visit date", "Visit date", "date")
    with pytest.raises(ExportDataError, match="differ whatever their case: age"):
        Dataset(
            name="twice",
            label="Twice",
            variables=[
                Variable("age", "Age", "integer"),
                Variable("AGE", "Age again", "integer"),
            ],
            rows=[],
        )
    with pytest.raises(ExportDataError, match="unknown variables: agee"):
        Dataset(
            name="typo",
            label="Typo",
            variables=[Variable("age", "Age", "integer")],
            rows=[{"agee": 1}],
        )


def test_name_limits_per_format():
    """Stata and SAS keep 32 characters, SPSS 64; a SAS companion
    ``<name>_code`` (5 more) must fit too, so a codable number's name has 27;
    a choice's SAS format ``<name>F`` must fit, so its name has 31."""
    name_32, name_33 = "n" * 32, "n" * 33
    for export_format in ("stata", "sas"):
        check_limits_for(one_column(Variable(name_32, "L", "integer")), export_format)
        with pytest.raises(ExportDataError, match="longer than 32"):
            check_limits_for(
                one_column(Variable(name_33, "L", "integer")), export_format
            )
    check_limits_for(one_column(Variable("n" * 64, "L", "integer")), "spss")
    with pytest.raises(ExportDataError, match="longer than 64"):
        check_limits_for(one_column(Variable("n" * 65, "L", "integer")), "spss")

    check_limits_for(
        one_column(Variable("n" * 27, "L", "integer", codable=True)), "sas"
    )
    with pytest.raises(ExportDataError, match=f"{'n' * 28}_code: name longer"):
        check_limits_for(
            one_column(Variable("n" * 28, "L", "integer", codable=True)), "sas"
        )
    # A codable text variable has no companion: its code is its text.
    check_limits_for(one_column(Variable(name_32, "L", "text", codable=True)), "sas")
    with pytest.raises(ExportDataError, match="too long for its SAS format"):
        check_limits_for(
            one_column(Variable(name_32, "L", "choice", {"a": "A"})), "sas"
        )


def test_companion_columns_may_not_clash_with_variables():
    dataset = Dataset(
        name="clash",
        label="Clash",
        variables=[
            Variable("age", "Age", "integer", codable=True),
            Variable("age_code", "Age group", "text"),
        ],
        rows=[],
    )
    for export_format in ("sas", "r"):
        with pytest.raises(ExportDataError, match="age_code clashes"):
            check_limits_for(dataset, export_format)
    check_limits_for(dataset, "stata")  # Stata keeps codes in the variable


def test_stata_reserved_words_and_label_length():
    with pytest.raises(ExportDataError, match="a word Stata reserves"):
        check_limits_for(one_column(Variable("in", "In", "integer")), "stata")
    with pytest.raises(ExportDataError, match="a word Stata reserves"):
        check_limits_for(one_column(Variable("str12", "S", "text")), "stata")
    check_limits_for(one_column(Variable("a", "x" * 80, "integer")), "stata")
    with pytest.raises(ExportDataError, match="a: label longer than 80"):
        check_limits_for(one_column(Variable("a", "x" * 81, "integer")), "stata")


def test_dataset_label_limits_per_format():
    """pyreadstat would cut an SPSS file label at 64 characters and a SAS
    transport one at 40 without a word: refused instead."""
    for export_format, limit in (("stata", 80), ("spss", 64), ("sas", 40)):
        dataset = Dataset(name="d", label="x" * limit, variables=[], rows=[])
        check_limits_for(dataset, export_format)
        longer = Dataset(name="d", label="x" * (limit + 1), variables=[], rows=[])
        with pytest.raises(ExportDataError, match=f"longer than {limit} characters"):
            check_limits_for(longer, export_format)


@pytest.mark.parametrize("writer", [stata_files, spss_files, sas_files])
def test_writers_check_limits_before_writing(writer):
    """A 65-character name is too long for every labelled format: each
    writer refuses it with our message, before pyreadstat sees it."""
    dataset = one_column(Variable("n" * 65, "Long", "integer"), 1)
    with pytest.raises(ExportDataError, match="Cannot export to"):
        writer(dataset)

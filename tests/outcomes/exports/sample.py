"""A hand-built dataset with every variable kind, every missing-data code in
the integer, decimal, date, text, choice and yes/no columns, blanks, real
zeros (ECOG 0, transfusion No), a Decimal, and text that needs quoting.

Rows P02-P07 hold the codes: the code of row P0(2+i) in the codable column j
(age j=0, haemoglobin 1, surgery_date 2, implant 3, procedure 4, ecog 5,
transfusion 6) is CODES[(i + j) % 6], so each column holds all six codes,
once each. P08 is blank wherever it may be.
"""

import datetime
import decimal

from outcomes.exports.dataset import Coded, Dataset, Variable

D = datetime.date
NA, UNK, ND, ILL, DEC, DIED = (
    Coded(code) for code in ("NA", "UNK", "ND", "ILL", "DEC", "DIED")
)

PROCEDURES = {
    "IF": "Intramedullary fixation",
    "RER": "Resection and endoprosthetic reconstruction",
    "other": "Other",
}
ECOG = {
    0: "Fully active",
    1: "Restricted in strenuous activity",
    2: "Ambulatory, capable of self-care",
    3: "Capable of limited self-care",
    4: "Completely disabled",
}
VARIABLES = [
    Variable("participant_id", "Participant identifier", "text"),
    Variable("age", "Age at screening (years)", "integer", codable=True),
    Variable(
        "haemoglobin",
        # Longer than the 40 characters of SAS transport version 5.
        "Haemoglobin before surgery, grams per litre (g/L)",
        "decimal",
        codable=True,
    ),
    Variable("surgery_date", "Date of surgery", "date", codable=True),
    Variable("implant", "Implant used", "text", codable=True),
    Variable("procedure", "Procedure performed", "choice", PROCEDURES, codable=True),
    Variable("ecog", "ECOG performance status", "choice", ECOG, codable=True),
    Variable("transfusion", "Blood transfusion", "boolean", codable=True),
    Variable("note", "Coordinator's note", "text"),
]
COLUMNS = [variable.name for variable in VARIABLES]
TABLE = [
    ("P01", 67, 121.5, D(2025, 3, 1), "Nail X", "IF", 0, False, 'said "fine", ok'),
    ("P02", NA, UNK, ND, ILL, DEC, DIED, NA, None),
    ("P03", UNK, ND, ILL, DEC, DIED, NA, UNK, None),
    ("P04", ND, ILL, DEC, DIED, NA, UNK, ND, None),
    ("P05", ILL, DEC, DIED, NA, UNK, ND, ILL, None),
    ("P06", DEC, DIED, NA, UNK, ND, ILL, DEC, None),
    ("P07", DIED, NA, UNK, ND, ILL, DEC, DIED, None),
    ("P08", None, None, None, None, None, None, None, None),
    (
        "P09",
        45,
        decimal.Decimal("88.25"),
        D(2024, 12, 31),
        "Prosthesis Y",
        "RER",
        4,
        True,
        "Ünïcode",
    ),
]


def sample_dataset() -> Dataset:
    return Dataset(
        name="perform_sample",
        label="PERFORM export sample",
        variables=VARIABLES,
        rows=[dict(zip(COLUMNS, row, strict=True)) for row in TABLE],
    )

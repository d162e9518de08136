"""Writes of the randomization app, by domain: ``lists`` (statisticians' allocation
lists) and ``randomize`` (the one randomize action). Callers import from here."""

from randomization.services.lists import (
    IMPORT_COLUMNS,
    VerifyResult,
    list_activate,
    list_digest_compute,
    list_extend,
    list_generate,
    list_import,
    list_parameters,
    list_verify,
    list_verify_record,
)
from randomization.services.randomize import (
    RandomizationResult,
    participant_randomize,
    randomization_blockers,
)

__all__ = [
    "IMPORT_COLUMNS",
    "RandomizationResult",
    "VerifyResult",
    "list_activate",
    "list_digest_compute",
    "list_extend",
    "list_generate",
    "list_import",
    "list_parameters",
    "list_verify",
    "list_verify_record",
    "participant_randomize",
    "randomization_blockers",
]

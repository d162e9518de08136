"""Allocation lists (statisticians), by domain: ``generation`` (generate from a
seed), ``imports`` (an externally generated table), ``activation`` (activate,
extend the active list) and ``verification`` (the digest). ``common`` holds
what they share: the scheme's defaults and the writing of a stratum's slots.

Every list records its parameters; its SHA-256 digest is computed over them
and every slot (``list_digest_compute``) and recorded at activation.
"""

from randomization.services.lists.activation import list_activate, list_extend
from randomization.services.lists.generation import list_generate
from randomization.services.lists.imports import IMPORT_COLUMNS, list_import
from randomization.services.lists.verification import (
    VerifyResult,
    list_digest_compute,
    list_parameters,
    list_verify,
    list_verify_record,
)

__all__ = [
    "IMPORT_COLUMNS",
    "VerifyResult",
    "list_activate",
    "list_digest_compute",
    "list_extend",
    "list_generate",
    "list_import",
    "list_parameters",
    "list_verify",
    "list_verify_record",
]

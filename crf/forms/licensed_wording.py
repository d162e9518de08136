"""The licensed instruments' wording (TESS, EQ-5D-5L, BPI), from the file the
Methods Centre installs under licence; never in the repository.

``INSTRUMENT_WORDING_FILE`` (environment, empty by default) names a JSON file
in the format ``docs/instrument-wording.md`` describes: per language code, per
instrument, per item, its text and the text of each level. The file is
validated against ``wording_schema()`` with the ``jsonschema`` library (the
schema is built from the model fields, so a level outside an item's range is
refused). A file that is missing or invalid is reported by the system check
``crf.E001`` (``manage.py check``, and every management command at start-up)
and the forms keep their neutral labels ("TESS item 7", numbered levels).

The file is read again when it changes (its modification time), so installing
it needs no restart of the web server.
"""

import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jsonschema
from django.conf import settings
from django.core.checks import Error, register
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import translation

from crf.forms import scoring
from crf.models.instruments import Bpi, Eq5d, Tess

logger = logging.getLogger(__name__)

FORMAT = "perform-instrument-wording"
VERSION = 1
LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$"


def field_range(model_field) -> tuple[int, int] | None:
    """The (low, high) a model field's validators allow (``None`` without both)."""
    lows = [
        v.limit_value for v in model_field.validators if type(v) is MinValueValidator
    ]
    highs = [
        v.limit_value for v in model_field.validators if type(v) is MaxValueValidator
    ]
    if not lows or not highs:
        return None
    return max(lows), min(highs)


def _items() -> dict[str, dict[str, tuple[int, int] | None]]:
    """instrument → item key → its levels' range (``None``: a number, no levels)."""

    def levels(model, name):
        return field_range(model._meta.get_field(name))

    return {
        "tess": {
            str(n): levels(Tess, f"tess_{n}")
            for n in range(1, scoring.TESS_ITEM_COUNT + 1)
        },
        "eq5d": {
            **{d: levels(Eq5d, f"eq5d_{d}") for d in scoring.EQ5D_DIMENSIONS},
            "vas": None,
        },
        "bpi": {
            name: levels(Bpi, f"bpi_{name}")
            for name in scoring.BPI_SEVERITY_ITEMS + scoring.BPI_INTERFERENCE_ITEMS
        },
    }


TEXT = {"type": "string", "minLength": 1, "pattern": r"\S"}


def _item_schema(bounds) -> dict:
    properties = {"text": TEXT}
    if bounds is not None:
        low, high = bounds
        properties["levels"] = {
            "type": "object",
            "propertyNames": {"enum": [str(v) for v in range(low, high + 1)]},
            "additionalProperties": TEXT,
        }
    return {
        "type": "object",
        "required": ["text"],
        "properties": properties,
        "additionalProperties": False,
    }


def wording_schema() -> dict:
    """The JSON Schema (2020-12) of the wording file."""
    instruments = {
        instrument: {
            "type": "object",
            "required": ["items"],
            "properties": {
                "items": {
                    "type": "object",
                    "minProperties": 1,
                    "properties": {
                        key: _item_schema(bounds) for key, bounds in items.items()
                    },
                    "additionalProperties": False,
                }
            },
            "additionalProperties": False,
        }
        for instrument, items in _items().items()
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["format", "version", "languages"],
        "properties": {
            "format": {"const": FORMAT},
            "version": {"const": VERSION},
            "licence": {"type": "string"},
            "languages": {
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"pattern": LANGUAGE_PATTERN},
                "additionalProperties": {
                    "type": "object",
                    "minProperties": 1,
                    "properties": instruments,
                    "additionalProperties": False,
                },
            },
        },
        "additionalProperties": False,
    }


class WordingFileError(Exception):
    """The wording file cannot be read or does not follow the format."""


@dataclass(frozen=True)
class ItemWording:
    text: str
    levels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Wording:
    """The installed wording of one language."""

    language: str
    items: dict[tuple[str, str], ItemWording]

    def item(self, instrument: str, key: str) -> ItemWording | None:
        return self.items.get((instrument, key))


def wording_file_read(path: Path) -> dict:
    """The file's content, checked against the schema; ``WordingFileError``
    naming the first problems (file, JSON syntax, or place and rule)."""
    try:
        content = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise WordingFileError(f"cannot read {path}: {error.strerror}.") from error
    except (ValueError, UnicodeDecodeError) as error:
        raise WordingFileError(f"{path} is not valid JSON: {error}.") from error
    validator = jsonschema.Draft202012Validator(wording_schema())
    problems = sorted(validator.iter_errors(content), key=lambda e: e.json_path)
    if problems:
        described = "; ".join(f"{e.json_path}: {e.message}" for e in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise WordingFileError(f"{path} does not follow the format: {described}{more}.")
    return content


@lru_cache(maxsize=4)
def _load(path: str, _mtime_ns: int) -> dict:
    return wording_file_read(Path(path))


def _languages() -> dict | None:
    path = settings.INSTRUMENT_WORDING_FILE
    if not path:
        return None
    try:
        return _load(path, Path(path).stat().st_mtime_ns)["languages"]
    except (OSError, WordingFileError) as error:
        # The system check reports it; the forms keep their neutral labels.
        logger.warning("Instrument wording not used: %s", error)
        return None


def licensed_wording(language: str | None = None) -> Wording | None:
    """The installed wording in ``language`` (the active language by default,
    else its primary subtag: ``en-gb`` → ``en``); ``None`` when no valid file
    is installed or it has no such language."""
    languages = _languages()
    if not languages:
        return None
    wanted = (language or translation.get_language() or settings.LANGUAGE_CODE).lower()
    for code in (wanted, wanted.split("-")[0]):
        if code in languages:
            instruments = languages[code]
            return Wording(
                language=code,
                items={
                    (instrument, key): ItemWording(
                        text=item["text"], levels=item.get("levels", {})
                    )
                    for instrument, content in instruments.items()
                    for key, item in content["items"].items()
                },
            )
    return None


@register("crf")
def wording_file_check(app_configs=None, **kwargs):
    """``crf.E001``: the wording file named by ``INSTRUMENT_WORDING_FILE`` is
    missing or invalid."""
    path = settings.INSTRUMENT_WORDING_FILE
    if not path:
        return []
    try:
        wording_file_read(Path(path))
    except WordingFileError as error:
        return [
            Error(
                f"Instrument wording file: {error}",
                hint="Correct the file (docs/instrument-wording.md describes the "
                "format) or empty INSTRUMENT_WORDING_FILE. Until then the forms "
                "show the neutral labels.",
                id="crf.E001",
            )
        ]
    return []

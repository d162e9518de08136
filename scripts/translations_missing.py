#!/usr/bin/env python3
"""List the entries of the translation catalogues still to translate.

    .venv/bin/python scripts/translations_missing.py            # every locale/*/
    .venv/bin/python scripts/translations_missing.py locale/fr/LC_MESSAGES/django.po

An entry is missing when its msgstr (or one of its plural forms) is empty, or
when it is marked fuzzy (``msgmerge`` guessed it from a similar text; Django
never shows a fuzzy translation). A fuzzy header counts too: msgfmt then drops
the header, and with it the plural rule. Prints each one with where it is used
and exits 1 when any is missing, so it can gate a merge; tests/crf/epro/
test_languages.py uses the same reader.

Standard library only (no Django, no gettext tools): the lead runs it right
after ``make messages`` on a fresh merge, and CI may lack ``polib``.
"""

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# Wording already chosen for the French pages and messages: keep new strings
# consistent with it (the e-mail names the survey page's buttons).
GLOSSARY_FR = {
    "I prefer not to answer": "Je préfère ne pas répondre",
    "Stop these messages": "Arrêter ces messages",
    "Thank you": "Merci",
    "Next": "Suivant",
    "Previous": "Précédent",
    "Submit": "Envoyer",
    "Does not apply": "Ne s’applique pas",
}


@dataclass
class PoEntry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)
    obsolete: bool = False

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @property
    def untranslated(self) -> bool:
        return not self.msgstr or any(not text for text in self.msgstr.values())


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unquote(text: str) -> str:
    text = text.strip()
    if not (len(text) >= 2 and text[0] == text[-1] == '"'):
        raise ValueError(f"not a quoted PO string: {text!r}")
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[1]), text[1:-1])


def po_entries(path: Path) -> list[PoEntry]:
    """The entries of a .po file, the header (msgid "") first when present."""
    entries: list[PoEntry] = []
    entry = PoEntry()
    started = False  # the current entry has a keyword line
    target: tuple[str, int | None] | None = None  # where a "..." line appends

    def finish():
        nonlocal entry, started, target
        if started:
            entries.append(entry)
        entry, started, target = PoEntry(), False, None

    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            finish()
            continue
        if line.startswith("#,"):
            if started:
                finish()
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#:"):
            if started:
                finish()
            entry.references += line[2:].split()
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if keyword.startswith('"'):
            if target is None:
                raise ValueError(f"{path}: a string continues no keyword: {raw!r}")
            name, index = target
            if name == "msgstr":
                entry.msgstr[index] += _unquote(line)
            else:
                setattr(entry, name, getattr(entry, name) + _unquote(line))
            continue
        if keyword in ("msgctxt", "msgid") and (
            entry.msgstr or (keyword == "msgid" and entry.msgid)
        ):
            finish()
        started = True
        entry.obsolete = entry.obsolete or obsolete
        plural = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
        if plural:
            target = ("msgstr", int(plural[1]))
            entry.msgstr[int(plural[1])] = _unquote(rest)
        elif keyword == "msgstr":
            target = ("msgstr", 0)
            entry.msgstr[0] = _unquote(rest)
        elif keyword in ("msgid", "msgid_plural", "msgctxt"):
            target = (keyword, None)
            setattr(entry, keyword, _unquote(rest))
        else:
            raise ValueError(f"{path}: unknown PO keyword in {raw!r}")
    finish()
    return entries


def missing_entries(path: Path) -> list[PoEntry]:
    """Entries of ``path`` still to translate: empty or fuzzy (obsolete ones,
    which no code uses any more, are not counted)."""
    return [
        entry
        for entry in po_entries(path)
        if not entry.obsolete
        and (entry.fuzzy or (entry.msgid != "" and entry.untranslated))
    ]


def _catalogues(args: list[str]) -> list[Path]:
    if args:
        return [Path(arg) for arg in args]
    return sorted((BASE_DIR / "locale").glob("*/LC_MESSAGES/django.po"))


def main(args: list[str]) -> int:
    total = 0
    for path in _catalogues(args):
        missing = missing_entries(path)
        total += len(missing)
        print(f"{path}: {len(missing)} to translate")
        for entry in missing:
            state = "fuzzy" if entry.fuzzy else "untranslated"
            where = " ".join(entry.references) or "header"
            print(f"\n  [{state}] {where}")
            print(f"  msgid: {entry.msgid!r}")
            if entry.msgid_plural is not None:
                print(f"  plural: {entry.msgid_plural!r}")
            if entry.fuzzy and any(entry.msgstr.values()):
                print(f"  guess: {entry.msgstr!r}")
            hints = [
                f"{en!r} → {fr!r}"
                for en, fr in GLOSSARY_FR.items()
                if "/fr/" in str(path) and en.lower() in entry.msgid.lower()
            ]
            if hints:
                print(f"  glossary: {'; '.join(hints)}")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""How the instruments of PROTOCOL §8 and the number fields look on a CRF page.

``instrument_presentation_apply(form)``, called once by ``CrfModelForm``,
changes only widgets, labels, help texts and the layout's instrument blocks;
what a field accepts stays the model field's (its validators are the one owner
of every range, read here, never restated).

- **Free wording** (MSTS 1993, Mirels, ECOG, ASA, Clavien-Dindo): each item is
  a radio group whose levels carry the published descriptors
  (``crf.forms.free_wording``). MSTS defines
  descriptors at 5, 3, 1 and 0 only (Enneking 1993); 4 and 2 are labelled as
  the intermediate levels they are.
- **Licensed wording** (TESS, EQ-5D-5L, BPI): neutral short labels ("TESS item
  7") and numbered levels, unless the Methods Centre has installed the wording
  file (``crf.forms.licensed_wording``); then the item text and level texts
  come from it.
- TESS and BPI render as a matrix (rows = items, columns = levels) inside a
  ``.table-responsive``, so a phone scrolls the table, never the page.
- Every radio group has an empty level ("Not answered"; for TESS "Not
  applicable", PROTOCOL §8) so an answer can be taken back.
- Number fields show their range and unit ("40–200 g/L") as help text and as
  ``min``/``max`` attributes. The form is ``novalidate``: the server checks
  every value and the page shows every error in one summary, rather than the
  browser stopping at the first with a tooltip (and refusing a draft).
- Each instrument shows its score as it is filled in
  (``static/js/instrument_scores.js``, a mirror of ``crf.forms.scoring``);
  ``stored_scores`` gives the stored ones for the read-only page.
"""

from dataclasses import dataclass

from crispy_forms.layout import Field, Fieldset, LayoutObject
from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.template.loader import render_to_string

from crf.forms import scoring
from crf.forms.field_wrappers import MISSING_PREFIX
from crf.forms.free_wording import CLAVIEN_DINDO_LEVELS, FREE_LEVELS, INTERMEDIATE
from crf.forms.licensed_wording import ItemWording, field_range, licensed_wording

NOT_ANSWERED = "Not answered"
MIRELS_ITEM_MAX = 3
NOT_APPLICABLE = "Not applicable"

# ---------------------------------------------------------------- licensed items

TESS_FIELDS = [f"tess_{n}" for n in range(1, scoring.TESS_ITEM_COUNT + 1)]
BPI_FIELDS = [
    f"bpi_{name}"
    for name in scoring.BPI_SEVERITY_ITEMS + scoring.BPI_INTERFERENCE_ITEMS
]
EQ5D_FIELDS = [f"eq5d_{name}" for name in scoring.EQ5D_DIMENSIONS]


def licensed_item(field_name: str) -> tuple[str, str] | None:
    """(instrument, item key) of a licensed instrument's field, as the wording
    file names them (``tess``/``"7"``, ``eq5d``/``mobility``, ``bpi``/``worst``)."""
    for instrument, prefix in (("tess", "tess_"), ("eq5d", "eq5d_"), ("bpi", "bpi_")):
        if field_name.startswith(prefix):
            key = field_name.removeprefix(prefix)
            if key in licensed_item_keys(instrument):
                return instrument, key
    return None


def licensed_item_keys(instrument: str) -> tuple[str, ...]:
    return {
        "tess": tuple(str(n) for n in range(1, scoring.TESS_ITEM_COUNT + 1)),
        "eq5d": (*scoring.EQ5D_DIMENSIONS, "vas"),
        "bpi": scoring.BPI_SEVERITY_ITEMS + scoring.BPI_INTERFERENCE_ITEMS,
    }[instrument]


# Blocks shown as a matrix, and the label of their empty column.
MATRICES = {"tess": (TESS_FIELDS, NOT_APPLICABLE), "bpi": (BPI_FIELDS, NOT_ANSWERED)}

# ---------------------------------------------------------------- numbers

UNITS = {
    "haemoglobin_g_l": "g/L",
    "duration_min": "min",
    "blood_loss_ml": "mL",
    "transfusion_units": "units",
    "bone_loss_percent": "%",
    "expected_survival_months": "months",
}


# ---------------------------------------------------------------- scores


@dataclass(frozen=True)
class ScoreBlock:
    """One instrument's score, shown under its items."""

    key: str
    label: str
    items: tuple[str, ...]


SCORES = (
    ScoreBlock(
        "mirels", "Mirels total", tuple(f"mirels_{n}" for n in scoring.MIRELS_ITEMS)
    ),
    ScoreBlock("msts", "MSTS total", tuple(f"msts_{n}" for n in scoring.MSTS_ITEMS)),
    ScoreBlock("tess", "TESS score", tuple(TESS_FIELDS)),
    ScoreBlock("eq5d", "EQ-5D-5L profile", tuple(EQ5D_FIELDS)),
    ScoreBlock(
        "bpi",
        "BPI interference",
        tuple(f"bpi_{n}" for n in scoring.BPI_INTERFERENCE_ITEMS),
    ),
)


def _score_parts(key: str, instance) -> dict[str, str]:
    """The stored score of ``key`` as the texts the page shows ('' if none)."""

    def text(name):
        value = getattr(instance, name, None)
        return "" if value is None else str(value)

    return {
        "mirels": lambda: {
            "total": text("mirels_total"),
            "note": _mirels_note(instance.mirels_total),
        },
        "msts": lambda: {
            "total": text("msts_total"),
            "percent": text("msts_percent"),
        },
        "tess": lambda: {"score": text("tess_score")},
        "eq5d": lambda: {"profile": instance.eq5d_profile or ""},
        "bpi": lambda: {"interference": text("bpi_interference")},
    }[key]()


def _mirels_note(total) -> str:
    if total is not None and total >= scoring.MIRELS_IMPENDING_THRESHOLD:
        return f"≥ {scoring.MIRELS_IMPENDING_THRESHOLD}: impending fracture"
    return ""


def _score_context(block: ScoreBlock, instance, *, live: bool) -> dict:
    return {
        "block": block,
        "live": live,
        "parts": _score_parts(block.key, instance),
        "items": " ".join(block.items),
        "threshold": scoring.MIRELS_IMPENDING_THRESHOLD,
        "item_count": len(block.items),
        "msts_max": scoring.MSTS_ITEM_MAX * len(scoring.MSTS_ITEMS),
        "mirels_max": MIRELS_ITEM_MAX * len(scoring.MIRELS_ITEMS),
    }


def stored_scores(instance) -> list[str]:
    """The stored scores of ``instance``'s instruments, rendered for the
    read-only page (none for a form without instruments)."""
    if instance is None:
        return []
    return [
        render_to_string(
            "crf/includes/instrument_score.html",
            _score_context(block, instance, live=False),
        )
        for block in SCORES
        if hasattr(instance, block.items[0])
    ]


class ScoreOutput(LayoutObject):
    """The live score under an instrument's items (filled by the static JS)."""

    def __init__(self, block: ScoreBlock):
        self.block = block
        self.live = True  # False: the stored score (``crf.forms.prom_answers``)
        self.fields = []

    def render(self, form, context, template_pack=None, **kwargs):
        return render_to_string(
            "crf/includes/instrument_score.html",
            _score_context(self.block, form.instance, live=self.live),
        )


# ---------------------------------------------------------------- matrix


class InstrumentMatrix(LayoutObject):
    """Items sharing one scale as a table: a row per item, a column per level.

    Each row is ``(field name, [layout objects that followed it])``: what
    other parts of the form put after a field (a query marker, say) is shown
    in the row's label cell rather than lost.
    """

    template = "crf/includes/instrument_matrix.html"

    def __init__(self, key: str, rows, *, blank_label: str):
        self.key = key
        self.rows = rows
        self.blank_label = blank_label
        self.fields = [name for name, _extras in rows]

    def render(self, form, context, template_pack=None, **kwargs):
        rows = []
        for name, extras in self.rows:
            if name not in form.fields:
                continue
            bound = form[name]
            # The row's missing-data code select (``crf.forms.field_wrappers``
            # adds it to the form after the layout is built), so a code
            # stored for an item is shown and posted back, never dropped.
            missing = f"{MISSING_PREFIX}{name}"
            rows.append(
                {
                    "field": bound,
                    "missing": form[missing] if missing in form.fields else None,
                    "extras": "".join(
                        extra.render(form, context, template_pack=template_pack)
                        for extra in extras
                    ),
                }
            )
        if not rows:
            return ""
        levels = [
            (value, label)
            for value, label in form.fields[self.rows[0][0]].widget.choices
            if value != ""
        ]
        common = _common_level_texts(form, [row["field"].name for row in rows])
        described = any(
            text
            for row in rows
            for _value, text in form.fields[row["field"].name].widget.level_texts
        )
        return render_to_string(
            self.template,
            {
                "key": self.key,
                "rows": rows,
                "levels": [(value, common.get(value, "")) for value, _ in levels],
                "blank_label": self.blank_label,
                # Texts differing from row to row are shown in the cells.
                "cell_labels": described and not common,
            },
        )


def _common_level_texts(form, names) -> dict:
    """Level texts every row shares (column headings); none when they differ."""
    texts = [dict(form.fields[name].widget.level_texts) for name in names]
    first = texts[0]
    return first if all(t == first for t in texts) else {}


# ---------------------------------------------------------------- widgets


class LevelsRadioSelect(forms.RadioSelect):
    """A radio group of an instrument's levels; ``level_texts`` holds the bare
    descriptor of each level (the matrix shows them apart from the number)."""

    def __init__(self, *args, level_texts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.level_texts = tuple(level_texts)


class InlineLevelsBoundField(forms.BoundField):
    """Numbered levels only: the radios sit on one line (``perform.css``)."""

    def css_classes(self, extra_classes=None):
        classes = super().css_classes(extra_classes)
        return f"{classes} instrument-levels-inline".strip()


def _level_label(field_name: str, value, text: str) -> str:
    return f"{value} – {text}" if text else str(value)


def _radio_levels(field_name, low, high, wording: ItemWording | None):
    """[(value, descriptor)] of an integer item, ``low``..``high``."""
    free = FREE_LEVELS.get(field_name, {})
    levels = []
    for value in range(low, high + 1):
        text = free.get(value, "")
        if wording is not None:
            text = wording.levels.get(str(value), "")
        elif not text and any(field_name.startswith(p) for p in INTERMEDIATE):
            above = min((v for v in free if v > value), default=None)
            below = max((v for v in free if v < value), default=None)
            text = f"intermediate (between {below} and {above})"
        levels.append((value, text))
    return levels


def _radio_field_apply(form, name, levels, *, blank_label, inline):
    field = form.fields[name]
    choices = [(value, _level_label(name, value, text)) for value, text in levels]
    field.widget = LevelsRadioSelect(
        choices=[*choices, ("", blank_label)],
        level_texts=[(value, text) for value, text in levels],
    )
    if inline:
        field.bound_field_class = InlineLevelsBoundField


def _number_field_apply(field, low, high, unit):
    field.widget.attrs.update({"min": low, "max": high, "inputmode": "numeric"})
    hint = f"{low}–{high}{f' {unit}' if unit else ''}"
    field.help_text = f"{field.help_text} {hint}".strip() if field.help_text else hint


def _fields_apply(form, wording) -> None:
    model = form._meta.model
    for name, field in form.fields.items():
        try:
            model_field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        licensed = licensed_item(name)
        item_wording = (
            wording.item(*licensed) if wording is not None and licensed else None
        )
        if item_wording is not None and item_wording.text:
            field.label = item_wording.text
        if name == "clavien_dindo":
            levels = [
                (value, CLAVIEN_DINDO_LEVELS.get(value, ""))
                for value, _label in model_field.choices
            ]
            _radio_field_apply(
                form, name, levels, blank_label=NOT_ANSWERED, inline=False
            )
            continue
        if not isinstance(field, forms.IntegerField):
            continue
        bounds = field_range(model_field)
        if bounds is None:
            continue
        low, high = bounds
        if name in FREE_LEVELS or (licensed and name != "eq5d_vas"):
            levels = _radio_levels(name, low, high, item_wording)
            described = any(text for _value, text in levels)
            _radio_field_apply(
                form,
                name,
                levels,
                blank_label=NOT_APPLICABLE if name in TESS_FIELDS else NOT_ANSWERED,
                inline=not described,
            )
        else:
            _number_field_apply(field, low, high, UNITS.get(name, ""))


# ---------------------------------------------------------------- layout


def _name_of(obj) -> str | None:
    if isinstance(obj, str):
        return obj
    if isinstance(obj, Field) and len(obj.fields) == 1:
        return obj.fields[0]
    return None


def _matrix_fold(fieldset: Fieldset) -> None:
    """Replace the run of a matrix's items in ``fieldset`` by one matrix."""
    for key, (names, blank_label) in MATRICES.items():
        members = set(names)
        positions = [
            i for i, obj in enumerate(fieldset.fields) if _name_of(obj) in members
        ]
        if not positions:
            continue
        start = positions[0]
        rows = []
        end = start
        for i in range(start, len(fieldset.fields)):
            obj = fieldset.fields[i]
            name = _name_of(obj)
            if name in members:
                rows.append((name, []))
            elif name is None and rows:
                rows[-1][1].append(obj)
            else:
                break
            end = i + 1
        fieldset.fields[start:end] = [
            InstrumentMatrix(key, rows, blank_label=blank_label)
        ]


def _layout_apply(form) -> None:
    layout = form.helper.layout
    for fieldset in layout.fields:
        if not isinstance(fieldset, Fieldset):
            continue
        names = {_name_of(obj) for obj in fieldset.fields}
        _matrix_fold(fieldset)
        for block in SCORES:
            if block.items[0] in names and block.items[0] in form.fields:
                fieldset.fields.append(ScoreOutput(block))


def instrument_presentation_apply(form) -> None:
    """Instruments as on paper, ranges and units, live scores: see the module
    docstring. ``form`` is a ``CrfModelForm`` with its helper built."""
    _fields_apply(form, licensed_wording())
    _layout_apply(form)
    form.helper.attrs = {**form.helper.attrs, "novalidate": ""}

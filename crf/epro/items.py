"""The questionnaire items a participant answers (PROTOCOL §8, §13): one
instrument per page, each item a field of the visit's form."""

from django.utils.translation import gettext_lazy as _

from crf.forms.scoring import (
    BPI_INTERFERENCE_ITEMS,
    BPI_SEVERITY_ITEMS,
    EQ5D_DIMENSIONS,
    TESS_ITEM_COUNT,
)

PAGES: dict[str, tuple[str, ...]] = {
    "tess": tuple(f"tess_{n}" for n in range(1, TESS_ITEM_COUNT + 1)),
    "eq5d": (*(f"eq5d_{d}" for d in EQ5D_DIMENSIONS), "eq5d_vas"),
    "bpi": tuple(f"bpi_{n}" for n in (*BPI_SEVERITY_ITEMS, *BPI_INTERFERENCE_ITEMS)),
}
PAGE_TITLES = {
    "tess": _("Your physical function (TESS)"),
    "eq5d": _("Your health today (EQ-5D-5L)"),
    "bpi": _("Your pain (Brief Pain Inventory)"),
}
PROM_FIELDS: tuple[str, ...] = tuple(name for names in PAGES.values() for name in names)

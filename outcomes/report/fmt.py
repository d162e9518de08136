"""How report numbers are printed. The JSON stores these same strings, so the
PDF and the JSON can be compared cell by cell."""

import statistics
from dataclasses import dataclass, field

NA = "n/a"


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    note: str = ""

    def add(self, *cells) -> None:
        self.rows.append([str(cell) for cell in cells])

    def as_dict(self) -> dict:
        return {
            "title": self.title,
            "columns": self.columns,
            "rows": self.rows,
            "note": self.note,
        }


def pct(value: float | None) -> str:
    """A proportion (0-1) as a percentage with one decimal."""
    return NA if value is None else f"{100 * value:.1f}%"


def n_pct(count: int, total: int) -> str:
    return f"{count} ({pct(count / total)})" if total else f"{count}"


def _numbers(values) -> list:
    """The numbers of a column: blanks and missing-data codes (text) left out."""
    return [v for v in values if v is not None and not isinstance(v, str)]


def mean_sd(values: list[float]) -> str:
    values = [float(v) for v in _numbers(values)]
    if not values:
        return NA
    if len(values) == 1:
        return f"{values[0]:.1f} (n/a)"
    return f"{statistics.fmean(values):.1f} ({statistics.stdev(values):.1f})"


def mean_sd_n(values: list[float]) -> str:
    present = _numbers(values)
    return f"{mean_sd(present)}, n={len(present)}" if present else "n=0"


def estimate_ci(estimate, lower, upper) -> str:
    """A proportion with its 95% CI, in percent: ``12.3% (4.5 to 23.4)``."""
    if estimate is None:
        return NA
    if lower is None or upper is None:
        return pct(estimate)
    return f"{pct(estimate)} ({100 * lower:.1f} to {100 * upper:.1f})"


def days(value) -> str:
    return NA if value is None else f"{value:g}"


def days_ci(value, lower, upper) -> str:
    if value is None:
        return "not reached"
    return f"{days(value)} ({days(lower)} to {days(upper)})"

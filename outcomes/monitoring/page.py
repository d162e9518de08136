"""What the central monitoring page shows (PROTOCOL §14): every indicator
scored for every site the user sees, on one data cut-off date, and the
terminal-digit tests; and one indicator's funnel plot as PNG.

``monitoring_page`` reads the counts once (``site_indicator_counts``, about
ten queries, and ``site_digit_values``) and scores them in memory, so the
page's query count does not depend on the number of participants or
indicators. The funnel plot of one indicator (``indicator_funnel_png``) is
served by its own request, which reads the counts again for itself.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from outcomes.monitoring.digits import DigitPreference, terminal_digit_scores
from outcomes.monitoring.funnel import (
    Flag,
    FunnelScores,
    IndicatorKind,
    SiteScore,
    funnel_plot_data,
    site_funnel_scores,
)
from outcomes.monitoring.funnel_plot import funnel_plot_png
from outcomes.monitoring.indicators import (
    DIGIT_INDICATORS,
    INDICATORS,
    INDICATORS_BY_CODE,
    Indicator,
    site_digit_values,
    site_indicator_counts,
)

# What each indicator's denominator counts: the funnel plot's x axis and the
# column heading of its table.
DENOMINATOR_LABELS = {
    "ae_rate": "Patient-months",
    "sae_rate": "Patient-months",
    "deviation_rate": "Patient-months",
    "query_rate": "Forms entered",
    "old_open_queries": "Queries raised",
    "late_entry": "Forms with a visit date",
    "prom_completion": "Questionnaires expected",
    "screen_failure": "Patients screened",
    "data_change_rate": "Forms entered",
}
# Bootstrap badge of each flag; the flag's name is always written beside it.
FLAG_BADGES = {
    Flag.RED: "text-bg-danger",
    Flag.AMBER: "text-bg-warning",
    Flag.NONE: "text-bg-light border",
    Flag.TOO_LITTLE_DATA: "text-bg-secondary",
}


def indicator_value_text(indicator: Indicator, value: float | None) -> str:
    """A value (per unit) in the indicator's unit: "14.1 per 100
    patient-months", "43%"; "–" without a value."""
    if value is None:
        return "–"
    shown = value * indicator.scale
    if indicator.kind is IndicatorKind.PROPORTION:
        return f"{shown:.0f}%"
    return f"{shown:.1f} {indicator.unit}"


def count_text(count: float) -> str:
    """A numerator or denominator: whole numbers as such, patient-months to
    one decimal."""
    return f"{count:.0f}" if float(count).is_integer() else f"{count:.1f}"


def flag_text(score: SiteScore | DigitPreference) -> str:
    """The flag in words, with its direction when it has one: "red (high)",
    "amber (low)", "no flag", "too little data"."""
    if score.flag is Flag.NONE:
        return "no flag"
    direction = getattr(score, "direction", None)
    if score.flag in (Flag.RED, Flag.AMBER) and direction is not None:
        return f"{score.flag.value} ({direction.value})"
    return score.flag.value


@dataclass(frozen=True)
class SiteCell:
    """One site's result on one indicator, ready to show."""

    indicator: Indicator
    score: SiteScore

    @property
    def value_text(self) -> str:
        return indicator_value_text(self.indicator, self.score.value)

    @property
    def counts_text(self) -> str:
        return (
            f"{count_text(self.score.numerator)} / {count_text(self.score.denominator)}"
        )

    @property
    def flag_text(self) -> str:
        return flag_text(self.score)

    @property
    def badge(self) -> str:
        return FLAG_BADGES[self.score.flag]


@dataclass(frozen=True)
class IndicatorResult:
    """One indicator scored over the sites: its study value and φ, and a
    cell per site in site code order."""

    indicator: Indicator
    scores: FunnelScores
    cells: tuple[SiteCell, ...]

    @property
    def denominator_label(self) -> str:
        return DENOMINATOR_LABELS[self.indicator.code]

    @property
    def study_value_text(self) -> str:
        return indicator_value_text(self.indicator, self.scores.benchmark)

    @property
    def has_plot(self) -> bool:
        return any(cell.score.value is not None for cell in self.cells)


@dataclass(frozen=True)
class DigitCell:
    preference: DigitPreference

    @property
    def z_text(self) -> str:
        """z to two decimals; perfectly even digits give z = −∞."""
        z = self.preference.z
        if z is None:
            return "–"
        return "−∞" if z == float("-inf") else f"{z:.2f}"

    @property
    def p_text(self) -> str:
        p = self.preference.p_value
        return "–" if p is None else f"{p:.3g}"

    @property
    def flag_text(self) -> str:
        return flag_text(self.preference)

    @property
    def badge(self) -> str:
        return FLAG_BADGES[self.preference.flag]


@dataclass(frozen=True)
class DigitResult:
    code: str
    title: str
    cells: tuple[DigitCell, ...]


@dataclass(frozen=True)
class SiteRow:
    site_code: str
    cells: tuple[SiteCell, ...]


@dataclass(frozen=True)
class MonitoringPage:
    as_of: datetime.date
    indicators: tuple[IndicatorResult, ...]
    digits: tuple[DigitResult, ...]

    @property
    def site_rows(self) -> tuple[SiteRow, ...]:
        """The summary table: one row per site, one cell per indicator."""
        if not self.indicators:
            return ()
        codes = [cell.score.site_code for cell in self.indicators[0].cells]
        return tuple(
            SiteRow(code, tuple(result.cells[i] for result in self.indicators))
            for i, code in enumerate(codes)
        )


def _scored(indicator: Indicator, counts) -> IndicatorResult:
    scores = site_funnel_scores(counts, kind=indicator.kind)
    return IndicatorResult(
        indicator=indicator,
        scores=scores,
        cells=tuple(SiteCell(indicator, score) for score in scores.sites),
    )


def monitoring_page(*, user, as_of: datetime.date) -> MonitoringPage:
    """Every indicator of ``INDICATORS`` and every terminal-digit test on
    ``as_of``, over the sites and participants ``user`` sees."""
    counts = site_indicator_counts(user=user, as_of=as_of)
    digit_values = site_digit_values(user=user, as_of=as_of)
    return MonitoringPage(
        as_of=as_of,
        indicators=tuple(_scored(i, counts[i.code]) for i in INDICATORS),
        digits=tuple(
            DigitResult(
                code=code,
                title=title,
                cells=tuple(
                    DigitCell(p) for p in terminal_digit_scores(digit_values[code])
                ),
            )
            for code, title in DIGIT_INDICATORS
        ),
    )


def indicator_funnel_png(
    *, user, as_of: datetime.date, indicator_code: str
) -> bytes | None:
    """The funnel plot of one indicator as PNG; ``None`` when no site has
    data for it. ``KeyError`` for an unknown code."""
    indicator = INDICATORS_BY_CODE[indicator_code]
    counts = site_indicator_counts(user=user, as_of=as_of)[indicator_code]
    data = funnel_plot_data(site_funnel_scores(counts, kind=indicator.kind))
    if data is None:
        return None
    return funnel_plot_png(
        data,
        title=f"{indicator.title} on {as_of:%Y-%m-%d}",
        x_label=DENOMINATOR_LABELS[indicator_code],
        y_label=f"{indicator.title} ({indicator.unit})",
        scale=indicator.scale,
    )

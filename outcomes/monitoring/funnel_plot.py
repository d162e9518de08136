"""The funnel plot of one key risk indicator, as PNG bytes.

Drawn with matplotlib's object API on the Agg canvas (no pyplot state, so
workers can draw concurrently), like ``outcomes.report.plots``. The y axis
shows the indicator times ``scale`` (100 for "per 100 patient-months" or a
percentage); the x axis is the denominator, starting at 0.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from outcomes.monitoring.funnel import Flag, FunnelPlotData, IndicatorKind

DPI = 150
FLAG_COLOURS = {
    Flag.RED: "#c00000",
    Flag.AMBER: "#e69f00",
    Flag.NONE: "#1f4e79",
    Flag.TOO_LITTLE_DATA: "#a6a6a6",
}
BENCHMARK_COLOUR = "#404040"
LIMIT_STYLES = {2: ("--", "#7f7f7f"), 3: ("-", "#7f7f7f")}


def funnel_plot_png(
    data: FunnelPlotData,
    *,
    title: str,
    x_label: str,
    y_label: str,
    scale: float = 1.0,
) -> bytes:
    """The benchmark line, the 2 and 3 SD limits and every site's point,
    labelled with its code and coloured by its flag."""
    figure = Figure(figsize=(7.5, 4.2))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    grid = data.denominators
    axes.axhline(data.benchmark * scale, color=BENCHMARK_COLOUR, linewidth=1)
    for sds, (lower, upper) in data.limits.items():
        style, colour = LIMIT_STYLES[sds]
        for limit in (lower, upper):
            axes.plot(grid, limit * scale, linestyle=style, color=colour, linewidth=1)
    for code, denominator, value, flag in data.points:
        axes.scatter(
            denominator,
            value * scale,
            s=28,
            color=FLAG_COLOURS[flag],
            edgecolors="white",
            linewidths=0.5,
            zorder=3,
        )
        axes.annotate(
            code,
            (denominator, value * scale),
            xytext=(4, 3),
            textcoords="offset points",
            fontsize=7,
            color=FLAG_COLOURS[flag],
        )
    axes.set_xlim(left=0)
    axes.set_ylim(bottom=0, top=_y_top(data) * scale)
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.set_title(title, fontsize=10)
    phi_text = (
        f"Limits widened for over-dispersion: φ = {data.phi_used:.2f}"
        if data.phi_used > 1
        else "No over-dispersion adjustment (φ ≤ 1)"
    )
    axes.legend(
        handles=_legend_handles(data, scale),
        title=phi_text,
        title_fontsize=7,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
        fontsize=7,
        alignment="left",
    )
    axes.grid(alpha=0.3)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _y_top(data: FunnelPlotData) -> float:
    """Room for every point and for the 3 SD limit at the smallest site; the
    limits rise steeply below it and would squash the points at the bottom."""
    smallest = min(n for _code, n, _value, _flag in data.points)
    _lower, upper = data.limits[max(data.limits)]
    limit_there = float(np.interp(smallest, data.denominators, upper))
    highest = max([limit_there, *(value for _c, _n, value, _f in data.points)])
    top = highest * 1.1 if highest > 0 else 1.0
    if data.kind is IndicatorKind.PROPORTION:
        return min(top, 1.05)  # a little room above 100% for a point there
    return top


def _legend_handles(data: FunnelPlotData, scale: float) -> list[Line2D]:
    handles = [
        Line2D(
            [],
            [],
            color=BENCHMARK_COLOUR,
            linewidth=1,
            label=f"Study value ({data.benchmark * scale:.3g})",
        ),
        *(
            Line2D(
                [], [], linestyle=style, color=colour, linewidth=1, label=f"{sds} SD"
            )
            for sds, (style, colour) in LIMIT_STYLES.items()
        ),
    ]
    shown = {flag for _code, _n, _value, flag in data.points}
    handles += [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            color=colour,
            label=f"Flag: {flag.value}",
        )
        for flag, colour in FLAG_COLOURS.items()
        if flag in shown
    ]
    return handles

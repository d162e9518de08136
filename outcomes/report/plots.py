"""The report's figures, drawn with matplotlib (object API, no pyplot state, so
workers can draw concurrently) as PNG bytes for ReportLab.

Survival and cumulative-incidence plots follow the conventions a DMC expects
(Pocock, Clayton and Altman, Lancet 2002): step curves with their 95%
confidence bands shaded, censorings marked with ticks, the numbers at risk
in rows under the time axis at its tick marks, the time axis ending at the
last follow-up time, and a cumulative-incidence axis scaled to the data
rather than 0 to 1. ``step_figure`` returns the matplotlib ``Figure`` so
tests can check the layout (where the at-risk rows sit, where the axis ends).
"""

import datetime
import io
import math

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory

LINE_STYLES = ["-", "--", ":", "-."]
COLOURS = ["#1f4e79", "#c55a11", "#548235", "#7030a0"]
DPI = 150
RISK_ROW = 0.075  # height of an at-risk row, in figure fractions
AXES_TOP = 0.93


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def recruitment_plot(series: dict) -> bytes:
    """Cumulative randomizations by month, the target line and the projection
    at the recent rate."""
    figure = Figure(figsize=(6.5, 3.2))
    axes = figure.add_subplot()
    dates = [datetime.date.fromisoformat(d) for d in series["dates"]]
    axes.step(
        dates, series["randomized"], where="post", color=COLOURS[0], label="Randomized"
    )
    target = series["target"]
    axes.plot(
        [datetime.date.fromisoformat(d) for d, _n in target],
        [n for _d, n in target],
        linestyle="--",
        color=COLOURS[1],
        label="Target",
    )
    if series["projection"]:
        axes.plot(
            [datetime.date.fromisoformat(d) for d, _n in series["projection"]],
            [n for _d, n in series["projection"]],
            linestyle=":",
            color=COLOURS[0],
            label="Projection at the recent rate",
        )
    axes.set_ylabel("Participants (cumulative)")
    axes.legend(loc="upper left", frameon=False, fontsize=8)
    axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    return _png(figure)


def probability_top(series: dict, rising: bool) -> float:
    """Upper end of the probability axis: 1 for survival; for cumulative
    incidence the largest upper confidence limit plus a margin, rounded up to
    a tenth (a twentieth below 0.2), never under 0.05."""
    if not rising:
        return 1.0
    top = 0.0
    for curve in series["curves"].values():
        top = max([top, *(p[1] for p in curve["points"])])
        top = max([top, *(b[2] for b in curve["band"] if b[2] is not None)])
    step = 0.05 if top < 0.2 else 0.1
    return min(1.0, max(0.05, math.ceil(top * 1.1 / step) * step))


def step_figure(series: dict, *, ylabel: str, rising: bool) -> Figure:
    """Step curves by arm (Kaplan-Meier falling, cumulative incidence rising)
    over days from time zero; ``series`` as built by
    ``outcomes.report.estimates.curve_series``."""
    labels = sorted(series["curves"])
    bottom = 0.14 + RISK_ROW * (len(labels) + 1)
    figure = Figure(figsize=(6.5, 3.0 + 0.3 * len(labels)))
    figure.subplots_adjust(left=0.11, right=0.97, top=AXES_TOP, bottom=bottom)
    axes = figure.add_subplot()
    xmax = series["xmax"] or 1
    for i, label in enumerate(labels):
        curve = series["curves"][label]
        style = {"color": COLOURS[i % 4], "linestyle": LINE_STYLES[i % 4]}
        points = curve["points"]
        if not points:
            continue
        xs = [p[0] for p in points] + [curve["last"]]
        ys = [p[1] for p in points] + [points[-1][1]]
        axes.step(xs, ys, where="post", label=f"Arm {label}", **style)
        band = [b for b in curve["band"] if b[1] is not None and b[2] is not None]
        if band:
            axes.fill_between(
                [b[0] for b in band] + [curve["last"]],
                [b[1] for b in band] + [band[-1][1]],
                [b[2] for b in band] + [band[-1][2]],
                step="post",
                color=style["color"],
                alpha=0.15,
                linewidth=0,
            )
        if curve["censored"]:
            axes.plot(
                [c[0] for c in curve["censored"]],
                [c[1] for c in curve["censored"]],
                linestyle="none",
                marker="|",
                markersize=5,
                color=style["color"],
            )
    axes.set_xlim(0, xmax)
    axes.set_ylim(0, probability_top(series, rising))
    ticks = [day for day in series["risk_days"] if day <= xmax]
    axes.set_xticks(ticks)
    axes.set_xlabel("Days from time zero", fontsize=8)
    axes.set_ylabel(ylabel, fontsize=8)
    axes.tick_params(labelsize=7)
    axes.grid(alpha=0.3)
    if any(series["curves"][label]["points"] for label in labels):
        axes.legend(
            loc="upper left" if rising else "lower left", frameon=False, fontsize=8
        )
    # Numbers at risk: one row per arm under the axis label, each number
    # centred on its tick (x in data units, y in figure fractions).
    place = blended_transform_factory(axes.transData, figure.transFigure)
    figure.text(0.01, bottom - 0.115, "At risk", fontsize=7, weight="bold")
    for i, label in enumerate(labels):
        y = bottom - 0.115 - RISK_ROW * (i + 1)
        figure.text(0.01, y, f"Arm {label}", fontsize=7, color=COLOURS[i % 4])
        for day, n in zip(ticks, series["curves"][label]["at_risk"], strict=False):
            figure.text(
                day,
                y,
                str(n),
                transform=place,
                fontsize=7,
                ha="center",
                gid=f"at-risk-{label}-{day}",
            )
    return figure


def step_plot(series: dict, *, ylabel: str, rising: bool) -> bytes:
    return _png(step_figure(series, ylabel=ylabel, rising=rising))

"""The report's figures, drawn with matplotlib (object API, no pyplot state, so
workers can draw concurrently) as PNG bytes for ReportLab."""

import datetime
import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

LINE_STYLES = ["-", "--", ":", "-."]
COLOURS = ["#1f4e79", "#c55a11", "#548235", "#7030a0"]
DPI = 150


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def recruitment_plot(series: dict) -> bytes:
    """Cumulative randomizations by month against the linear target."""
    figure = Figure(figsize=(6.5, 3.2))
    axes = figure.add_subplot()
    dates = [datetime.date.fromisoformat(d) for d in series["dates"]]
    axes.step(
        dates, series["randomized"], where="post", color=COLOURS[0], label="Randomized"
    )
    axes.plot(dates, series["target"], linestyle="--", color=COLOURS[1], label="Target")
    axes.set_ylabel("Participants (cumulative)")
    axes.set_xlabel("Month")
    axes.legend(loc="upper left", frameon=False)
    axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    return _png(figure)


def step_plot(curves: dict, *, ylabel: str, xmax: int, rising: bool) -> bytes:
    """Step curves by arm letter: Kaplan-Meier (falling) or cumulative
    incidence (rising), over days from time zero."""
    figure = Figure(figsize=(6.5, 3.4))
    axes = figure.add_subplot()
    for i, (label, points) in enumerate(sorted(curves.items())):
        if not points:
            continue
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        axes.step(
            xs,
            ys,
            where="post",
            linestyle=LINE_STYLES[i % 4],
            color=COLOURS[i % 4],
            label=f"Arm {label}",
        )
    axes.set_xlim(0, xmax)
    axes.set_ylim(0, 1.02)
    axes.set_xlabel("Days from time zero")
    axes.set_ylabel(ylabel)
    if any(curves.values()):
        axes.legend(loc="upper left" if rising else "lower left", frameon=False)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    return _png(figure)

"""outcomes.monitoring.funnel_plot: the drawing returns a PNG. No database.

The image was also rendered to /tmp/funnel.png and inspected by eye (labels,
limits, colours) when written; this test guards that drawing still works for
both indicator kinds and for a funnel without over-dispersion."""

from __future__ import annotations

import io

from matplotlib.image import imread

from outcomes.monitoring.funnel import (
    IndicatorKind,
    SiteCounts,
    funnel_plot_data,
    site_funnel_scores,
)
from outcomes.monitoring.funnel_plot import funnel_plot_png

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def rate_data():
    sites = [
        SiteCounts("BAL", 12, 40, 6, 400),
        SiteCounts("TOR", 20, 250, 12, 900),
        SiteCounts("HAM", 5, 10, 2, 200),
        SiteCounts("MON", 90, 1000, 30, 2000),
        SiteCounts("OSL", 19, 160, 10, 600),
    ]
    return funnel_plot_data(site_funnel_scores(sites, kind=IndicatorKind.RATE))


def test_rate_funnel_plot_is_a_png():
    png = funnel_plot_png(
        rate_data(),
        title="AE rate per 100 patient-months",
        x_label="Patient-months of follow-up",
        y_label="AEs per 100 patient-months",
        scale=100,
    )
    assert png.startswith(PNG_MAGIC)
    pixels = imread(io.BytesIO(png))
    # 7.5 × 4.2 inches at 150 dpi
    assert pixels.shape[:2] == (630, 1125)


def test_proportion_funnel_plot_without_overdispersion_is_a_png():
    sites = [SiteCounts(code, 20, 100, 10, 300) for code in ("BAL", "TOR")]
    data = funnel_plot_data(site_funnel_scores(sites, kind=IndicatorKind.PROPORTION))
    assert data is not None and data.phi_used == 1.0
    png = funnel_plot_png(
        data,
        title="Queries open over 30 days",
        x_label="Queries",
        y_label="% open over 30 days",
        scale=100,
    )
    assert png.startswith(PNG_MAGIC)

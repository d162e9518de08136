"""Central statistical monitoring (PROTOCOL §14): per-site key risk indicators.

``funnel`` scores sites on a rate or a proportion against the study-wide
value, with Spiegelhalter's over-dispersion adjustment; ``digits`` tests each
site's terminal-digit preference; ``funnel_plot`` draws the funnel plot. The
kernel is pure arithmetic on per-site counts. ``indicators`` and
``form_counts`` read those counts from the database; ``page``, ``forms``,
``views`` and ``urls`` are the monitoring page and its funnel plot images.
"""

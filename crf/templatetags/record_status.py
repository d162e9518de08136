"""The record status grid's cells as HTML (``{{ row|grid_cells }}``).

Written in Python rather than as a template loop, and with the standard
library's ``html.escape`` rather than ``format_html``: a page has 50 rows of
15 cells, and the template language's look-ups and tags, or Django's lazy-aware
escaping, cost tens of milliseconds per page, most of its server time (the
page's target is 150 ms at p95). Every value that is not one of this module's
own words is escaped. The markup: a link per cell, coloured by
``grid-<state>`` (CSS in ``static/css/perform.css``), its word visible, the
full description as its tooltip.
"""

from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe

from crf.schedule.dashboards.grid import Cell, GridRow

register = template.Library()


def grid_cell(cell: Cell) -> str:
    """One cell as a ``<td>`` (every value escaped)."""
    state = escape(cell.state)
    if cell.queries:
        extra = f' grid-query" data-queries="{cell.queries:d}'
        marker = f" ?{cell.queries:d}"
    else:
        extra = marker = ""
    return (
        f'<td class="grid-td"><a class="grid-cell grid-{state}{extra}"'
        f' href="{escape(cell.url)}" title="{escape(cell.description)}"'
        f' data-column="{escape(cell.column)}" data-state="{state}">'
        f"{escape(cell.text)}{marker}</a></td>"
    )


@register.filter
def grid_cells(row: GridRow) -> SafeString:
    """Every cell of ``row``, each a ``<td>``."""
    # Safe: grid_cell escapes every value it writes.
    return mark_safe("".join(grid_cell(cell) for cell in row.cells))  # noqa: S308

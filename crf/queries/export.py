"""The data queries as CSV (issue 17): every query the user may see that the
list's filters select, not one page of them, with its whole thread.

Names and labels as the pages print them (``crf.queries.presentation``): the
form and visit, the field's label and its database name (for a statistician
joining the export to the data), who has to act next and the age in days.
Times are UTC in ISO 8601 to the second (the site's time zone is a column: a file that
crosses sites needs one clock). Cells are defused against formula injection
(``infrastructure.csv_cells``). Streamed, 500 queries to a fetch with their
messages, so a trial's worth of queries never sits in memory at once.
"""

import csv
import datetime

from django.http import StreamingHttpResponse
from django.utils import timezone

from crf.models import DataQuery
from crf.queries.presentation import query_facts
from infrastructure.csv_cells import csv_cell

COLUMNS = (
    "query",
    "study_id",
    "site",
    "site_time_zone",
    "form",
    "field",
    "field_name",
    "question",
    "status",
    "automatic_check",
    "with",
    "raised_at_utc",
    "raised_by",
    "age_days",
    "closed_at_utc",
    "thread",
)
CHUNK = 500


def _utc(moment) -> str:
    return (
        moment.astimezone(datetime.UTC).isoformat(timespec="seconds") if moment else ""
    )


def _thread(query: DataQuery) -> str:
    """Every message, oldest first, one per line: when (UTC), what, who, text."""
    return "\n".join(
        f"{_utc(m.at)} {m.get_action_display()} by "
        f"{m.by.username if m.by else 'the platform'}: {m.text}"
        for m in query.messages.all()
    )


def query_csv_rows(queries):
    """The header, then one row per query of ``queries`` (a queryset from
    ``crf.queries.services.query_list``), every cell defused."""
    yield list(COLUMNS)
    now = timezone.now()
    rows = queries.prefetch_related("messages__by").order_by("pk")
    for query in rows.iterator(chunk_size=CHUNK):
        facts = query_facts(query, now)
        yield [
            csv_cell(value)
            for value in (
                query.pk,
                query.participant.study_id,
                query.participant.site.code,
                query.participant.site.time_zone,
                facts.form_label,
                facts.field_label,
                query.field_name,
                query.text,
                query.get_status_display(),
                query.check_code,
                facts.assigned_to,
                _utc(query.raised_at),
                query.raised_by.username if query.raised_by else "the platform",
                facts.age_days,
                _utc(query.closed_at),
                _thread(query),
            )
        ]


class _Echo:
    """A file-like sink for ``csv.writer`` that hands each line back."""

    def write(self, value):
        return value


def query_csv_response(queries, *, filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in query_csv_rows(queries)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response

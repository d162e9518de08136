"""Reads for the dashboards: the site dashboard (``tasks``) and the Methods
Centre's data-quality view (``quality``). Both let the database do the work,
over the SQL visit schedule of ``crf.schedule.sql``, so a page runs a fixed
number of queries however many participants or forms there are.
"""

from crf.schedule.dashboards.quality import (
    SiteQuality,
    VisitQuality,
    data_quality,
    quality_tables,
)
from crf.schedule.dashboards.worklist import (
    KIND_ORDER,
    OPENING_SOON_DAYS,
    SORTS,
    TASK_KINDS,
    Task,
    TaskList,
    site_tasks,
    task_counts,
)

__all__ = [
    "KIND_ORDER",
    "OPENING_SOON_DAYS",
    "SORTS",
    "TASK_KINDS",
    "SiteQuality",
    "Task",
    "TaskList",
    "VisitQuality",
    "data_quality",
    "quality_tables",
    "site_tasks",
    "task_counts",
]

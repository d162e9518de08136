"""Demo data queries: raised by the data manager on complete forms days or
weeks after they were entered (``crf.queries.services.query_raise``), most
answered by the site within days, many of those closed by the data manager,
some still open today (weeks old). The automatic checks raise their own as
the history is replayed (``demo.history``)."""

import datetime
from dataclasses import dataclass

from demo.common import _days

# fmt: off
QUERY_TEXTS = (  # (form key, field, text)
    ("operative", "blood_loss_ml",
     "Blood loss of {blood_loss_ml} mL: please confirm against the anaesthesia "
     "record."),
    ("baseline", "haemoglobin_g_l",
     "Haemoglobin {haemoglobin_g_l} g/L: please confirm the value and the date of "
     "the sample."),
    ("baseline", "expected_survival_months",
     "Expected survival of {expected_survival_months} months: please confirm with "
     "the surgeon."),
    ("operative", "duration_min",
     "Duration of {duration_min} min: please check the theatre log."),
    ("discharge", "discharge_date",
     "Please confirm the discharge date ({discharge_date})."),
)
QUERY_ANSWER = "Checked against the source document: the value is correct."
QUERY_CLOSE = "Confirmed by the site; closed."
# Days from entry to the query, from the query to the site's answer, and from
# the answer to the data manager's close, as (days, weight).
RAISE_AFTER = ((2, 20), (5, 25), (10, 25), (20, 20), (35, 10))
ANSWER_AFTER = ((1, 25), (3, 25), (7, 25), (14, 15), (28, 10))
CLOSE_AFTER = ((1, 40), (3, 40), (8, 20))
# fmt: on
QUERIES_PER_CASE = 1 / 6  # data-manager queries per randomized participant
UNANSWERED_SHARE = 0.15  # queries the site has not answered (yet)


@dataclass(frozen=True)
class PlannedQuery:
    index: int
    key: str
    field_name: str
    text: str  # formatted with the entered form's values
    raised: datetime.date
    answered: datetime.date | None = None
    closed: datetime.date | None = None


def _after(day, rng, pairs) -> datetime.date:
    values, weights = zip(*pairs, strict=True)
    return _days(day, rng.choices(values, weights=weights)[0])


def _queries_plan(cases, rng, today_at) -> list[PlannedQuery]:
    """Data-manager queries on entered forms, each with its answer and close
    if they happened by the site's today (the first one is always answered)."""
    queries = []
    wanted = max(3, round(len(cases) * QUERIES_PER_CASE))
    for n in range(wanted):
        key, field_name, text = QUERY_TEXTS[n % len(QUERY_TEXTS)]
        candidates = [
            (c, f)
            for c in cases
            for f in c.of(key)[:1]
            if f.complete
            and f.values_for("IF").get(field_name) is not None
            and not any(q.index == c.index and q.key == key for q in queries)
        ]
        if not candidates:
            continue
        case, form = rng.choice(candidates)
        today = today_at[case.site_code]
        raised = _after(form.entered, rng, RAISE_AFTER)
        if raised > today:
            continue
        answered = _after(raised, rng, ANSWER_AFTER)
        if n == 0:
            answered = min(answered, today)
        elif rng.random() < UNANSWERED_SHARE:
            answered = None  # the site has not answered yet
        answered = answered if answered and answered <= today else None
        closed = _after(answered, rng, CLOSE_AFTER) if answered else None
        closed = closed if closed and closed <= today else None
        queries.append(
            PlannedQuery(case.index, key, field_name, text, raised, answered, closed)
        )
    return queries

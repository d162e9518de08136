"""Demo data queries: a few raised by the data manager on complete forms
(``crf.queries.services.query_raise``), the first one answered by the site."""

from dataclasses import dataclass

from crf.models import CrfForm
from crf.queries import services as crf_queries
from demo.participants import PlannedParticipant
from perform.models import User

# fmt: off
QUERY_TEXTS = (  # (form key, field, text); the first one is answered by the site
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
# fmt: on


@dataclass(frozen=True)
class PlannedQuery:
    index: int
    key: str
    field_name: str
    text: str
    answered: bool


def _queries_plan(cases, rng) -> list[PlannedQuery]:
    """A few data queries raised by the data manager; the first one answered."""
    queries = []
    for n, (key, field_name, text) in enumerate(
        QUERY_TEXTS[: max(3, len(cases) // 30)]
    ):
        candidates = [
            c
            for c in cases
            if any(
                f.complete and f.values.get(field_name) is not None for f in c.of(key)
            )
        ]
        if not candidates:
            continue
        case = rng.choice(candidates)
        form = next(f for f in case.of(key) if f.complete)
        queries.append(
            PlannedQuery(
                case.index, key, field_name, text.format(**form.values), answered=n == 0
            )
        )
    return queries


def _queries_write(
    queries: list[PlannedQuery],
    *,
    written: dict[tuple[int, str], CrfForm],
    plan: list[PlannedParticipant],
    coordinators: dict[str, User],
    datamanager: User,
) -> None:
    """Raise the planned queries on the forms written; the site answers one."""
    for planned_query in queries:
        form = written[(planned_query.index, planned_query.key)]
        query = crf_queries.query_raise(
            actor=datamanager,
            form=form,
            field_name=planned_query.field_name,
            text=planned_query.text,
        )
        if planned_query.answered:
            crf_queries.query_answer(
                actor=coordinators[plan[planned_query.index].site_code],
                query=query,
                text=QUERY_ANSWER,
            )

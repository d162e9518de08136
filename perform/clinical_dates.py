"""The range a clinical date may take (PROTOCOL §7).

A date of a clinical event entered in the platform (screening, consent or
decline, every CRF date) lies between the start of recruitment
(``settings.TRIAL["RECRUITMENT_START"]``) and today: nothing the trial
records happened before the trial began, and nothing has happened after
today. The lower bound also keeps typing slips such as year 1 out of the
date arithmetic downstream (visit windows, times to event), where they
overflow.

PROTOCOL §7 allows a date of medical history before the trial (the date of
primary cancer diagnosis and of previous treatments, partial dates allowed);
such a date passes ``history=True`` and may go back to 1900.

Forms, serializers, ``crf.forms.rules`` and the services all ask this one function,
so the web, the API and the services refuse the same dates in the same words.

"Today" is the date on the participant's site's calendar (``site_today``), not
the server's: a coordinator in Hamburg at 00:30 may enter today's date, and
one in Toronto at 21:00 (02:00 UTC) may not enter tomorrow's.
"""

import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

EARLIEST_HISTORY_DATE = datetime.date(1900, 1, 1)


def site_today(
    time_zone: str, *, now: datetime.datetime | None = None
) -> datetime.date:
    """The calendar date at the site (its ``time_zone``) at ``now``."""
    now = now or timezone.now()
    return now.astimezone(ZoneInfo(time_zone)).date()


def trial_start() -> datetime.date:
    return datetime.date.fromisoformat(settings.TRIAL["RECRUITMENT_START"])


def clinical_date_error(
    value: datetime.date,
    *,
    today: datetime.date,
    history: bool = False,
) -> str | None:
    """Why ``value`` cannot be the date of a clinical event, or None.

    ``today`` is the date at the participant's site (``site_today``);
    ``history`` for a date of medical history (see above).
    """
    if history:
        if value < EARLIEST_HISTORY_DATE:
            return f"The date cannot be before {EARLIEST_HISTORY_DATE.year}."
    elif value < (start := trial_start()):
        return f"The date cannot be before the start of the trial ({start:%d %b %Y})."
    if value > today:
        return "The date cannot be in the future."
    return None

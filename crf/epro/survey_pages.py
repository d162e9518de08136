"""The survey pages (PROTOCOL §13), shared by the two doors a participant
comes through: the personal link (``crf.epro.views``, no login) and the clinic
tablet (``crf.epro.tablet``, the coordinator's locked session). The doors
decide who the response is and whether it may be opened; this module shows
and saves its pages.

* One instrument per page, in ``crf.epro.items.PAGES`` order; each item a
  radio group of its levels (the licensed wording of the response's language
  when the Methods Centre installed it, else neutral "Item 7" labels and level
  numbers, as on the staff forms), "I prefer not to answer" (``DEC``) on every
  item and "Does not apply" (``NA``) on TESS items; the EQ-5D VAS is a number.
* The browser saves every change (``static/js/survey.js`` posts the form to
  the door's autosave URL); every page posted is saved too, so reopening the
  link shows the answers given and resumes at the first unfinished page.
* A page left with an unanswered item comes back with a summary at the top
  (``#error-summary``) linking to each item, the message by the item, and
  every valid answer kept (``response_page_finish``).
* The pages carry nothing personal (no name, study ID, site); each answer has
  ``Referrer-Policy: same-origin`` (the link, which holds the token, is never
  sent to another site) and ``Cache-Control: no-store`` (a shared device
  keeps no copy). Not ``no-referrer``: under it Chromium sends ``Origin:
  null`` with the page's own form posts, which Django's CSRF check refuses.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crf.epro.items import PAGE_TITLES, PAGES
from crf.epro.responses import (
    NOT_APPLICABLE,
    PREFER_NOT,
    SurveyClosed,
    codes_allowed,
    item_bounds,
    next_page,
    response_autosave,
    response_items,
    response_page_finish,
    response_submit,
)
from crf.epro.windows import NOT_YET, SUBMITTED, SurveyWindow
from crf.forms.licensed_wording import licensed_wording
from crf.forms.wording import licensed_item
from crf.models import ContactPreference, PromResponse

NUMBER_ITEMS = ("eq5d_vas",)
CODE_LABELS = {
    NOT_APPLICABLE: _("Does not apply"),
    PREFER_NOT: _("I prefer not to answer"),
}
CLOSED_HEADINGS = {
    SUBMITTED: _("Already answered"),
    NOT_YET: _("Not open yet"),
}
SURVEY_HEADERS = {"Referrer-Policy": "same-origin", "Cache-Control": "no-store"}


@dataclass(frozen=True)
class SurveyDoor:
    """Where a survey page's forms go: the personal link or the tablet."""

    mode: str
    page_url: str
    autosave_url: str
    language_url: str
    stop_url: str = ""
    exit_url: str = ""

    @property
    def tablet(self) -> bool:
        return bool(self.exit_url)


@dataclass
class SurveyItem:
    """One question as the page shows it."""

    name: str
    label: str
    levels: list[tuple[str, str]] = field(default_factory=list)
    codes: list[tuple[str, str]] = field(default_factory=list)
    chosen: str = ""
    error: str = ""
    low: int = 0
    high: int = 0

    @property
    def is_number(self) -> bool:
        return self.name in NUMBER_ITEMS

    @property
    def number_value(self) -> str:
        return self.chosen if self.chosen.isdigit() else ""

    @property
    def described(self) -> bool:
        """Levels with words (licensed wording): listed one under another."""
        return any(text != value for value, text in self.levels)


def patient_languages() -> list[tuple[str, str]]:
    return list(settings.LANGUAGES)


def patient_language(participant, request) -> str:
    """The language of a new response: the participant's preference, else
    the browser's (when the platform has it), else the first one."""
    preferred = (
        ContactPreference.objects.filter(participant=participant)
        .values_list("language", flat=True)
        .first()
    )
    codes = [code for code, _name in patient_languages()]
    if preferred in codes:
        return preferred
    asked = translation.get_language_from_request(request).split("-")[0]
    return asked if asked in codes else codes[0]


def survey_render(request, template, context, *, language, status=200):
    """Render a patient page in ``language``, with the survey headers."""
    with translation.override(language):
        response = render(
            request,
            template,
            {**context, "language": language, "languages": patient_languages()},
            status=status,
        )
    for header, value in SURVEY_HEADERS.items():
        response[header] = value
    return response


def posted_values(post, page: str) -> dict[str, str]:
    """Field name → posted text of ``page``'s items that were posted. An item
    may be posted twice (the VAS number and its "prefer not to answer" box):
    the last non-blank value counts."""
    values = {}
    for name in PAGES.get(page, ()):
        if name in post:
            given = [v for v in post.getlist(name) if str(v).strip()]
            values[name] = given[-1] if given else ""
    return values


def _item_label(index: int, wording_item) -> str:
    if wording_item is not None and wording_item.text:
        return wording_item.text
    return gettext("Item %(number)d") % {"number": index}


def page_items(response: PromResponse, page: str, errors: dict) -> list[SurveyItem]:
    wording = licensed_wording(response.language)
    items = []
    for index, answer in enumerate(response_items(response, page), start=1):
        name = answer.field_name
        licensed = licensed_item(name)
        item_wording = wording.item(*licensed) if wording and licensed else None
        low, high = item_bounds(name)
        levels = []
        if name not in NUMBER_ITEMS:
            texts = item_wording.levels if item_wording else {}
            levels = [
                (str(v), f"{v} – {texts[str(v)]}" if texts.get(str(v)) else str(v))
                for v in range(low, high + 1)
            ]
        value = answer.value
        items.append(
            SurveyItem(
                name=name,
                label=_item_label(index, item_wording),
                levels=levels,
                codes=[(code, str(CODE_LABELS[code])) for code in codes_allowed(name)],
                chosen=answer.code or ("" if value is None else str(value)),
                error=str(errors.get(name, "")),
                low=low,
                high=high,
            )
        )
    return items


def _page_link(door: SurveyDoor, page: str) -> str:
    return f"{door.page_url}?page={page}"


def page_shown(response: PromResponse, asked: str | None) -> str:
    """The page to show: the one asked for if it is finished or the first
    unfinished one; else the first unfinished one (the last page once all
    are finished)."""
    first_open = next_page(response)
    if asked in PAGES and (asked in response.pages_done or asked == first_open):
        return asked
    return first_open or list(PAGES)[-1]


def _neighbour(page: str, step: int) -> str | None:
    order = list(PAGES)
    position = order.index(page) + step
    return order[position] if 0 <= position < len(order) else None


def page_render(request, response, door, page, *, errors=None) -> HttpResponse:
    errors = errors or {}
    order = list(PAGES)
    with translation.override(response.language):
        items = page_items(response, page, errors)
        context = {
            "door": door,
            "page": page,
            "page_title": PAGE_TITLES[page],
            "page_number": order.index(page) + 1,
            "page_count": len(order),
            "previous_page": _neighbour(page, -1),
            "last_page": page == order[-1],
            "items": items,
            "errors": bool(errors),
            "error_summary": [
                (f"div_id_{item.name}", item.label, item.error)
                for item in items
                if item.error
            ],
        }
        return survey_render(
            request, "crf/epro/survey_page.html", context, language=response.language
        )


def closed_render(request, window: SurveyWindow, *, language, door=None):
    """The page of questionnaires that are not open (HTTP 200: the link is
    valid and the page says why; see ``crf.epro.views``)."""
    heading = CLOSED_HEADINGS.get(window.closed_reason, _("Questionnaires closed"))
    with translation.override(language):
        message = window.message
    return survey_render(
        request,
        "crf/epro/survey_closed.html",
        {"heading": heading, "message": message, "door": door},
        language=language,
    )


def thanks_render(request, response, door):
    return survey_render(
        request,
        "crf/epro/survey_thanks.html",
        {"door": door},
        language=response.language,
    )


def survey_page(request, response: PromResponse, door: SurveyDoor) -> HttpResponse:
    """GET or POST of the survey page of ``response`` (in progress, its window
    open: the door checked)."""
    if request.method != "POST":
        return page_render(
            request, response, door, page_shown(response, request.GET.get("page"))
        )
    page = request.POST.get("page", "")
    if page not in PAGES:
        return redirect(door.page_url)
    values = posted_values(request.POST, page)
    action = request.POST.get("action", "next")
    if action == "back":
        response_autosave(response, page, values)
        return redirect(_page_link(door, _neighbour(page, -1) or page))
    errors = response_page_finish(response, page, values)
    response.refresh_from_db()
    if errors:
        return page_render(request, response, door, page, errors=errors)
    following = _neighbour(page, 1)
    if following is not None:
        return redirect(_page_link(door, following))
    if action != "submit":
        return redirect(_page_link(door, page))
    try:
        response = response_submit(response, mode=door.mode)
    except SurveyClosed as closed:
        return closed_render(
            request, closed.window, language=response.language, door=door
        )
    except ValidationError:
        response.refresh_from_db()
        return redirect(_page_link(door, next_page(response) or page))
    return thanks_render(request, response, door)


def autosave_answer(request, response: PromResponse | None) -> JsonResponse:
    """The browser's autosave: keep the posted page's valid answers."""
    if response is None or response.is_submitted:
        return JsonResponse({"saved": False}, status=409)
    page = request.POST.get("page", "")
    if page not in PAGES:
        return JsonResponse({"saved": False}, status=400)
    response_autosave(response, page, posted_values(request.POST, page))
    return JsonResponse({"saved": True})

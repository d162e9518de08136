"""The participant's questionnaire answers on the staff's follow-up and
baseline pages (PROTOCOL §13).

* ``prom_banner``: who answered the visit's questionnaires, how, in which
  language, and when (site time), shown at the top of the questionnaire
  section of the edit page and of the read-only page; for answers staff
  transcribed from paper, who transcribed them.
* ``prom_answers_protect`` (called by ``CrfModelForm``): when the participant
  (or proxy) submitted the answers by link or on the clinic tablet
  (``crf.epro.corrections.electronic_response``), their TESS, EQ-5D-5L and
  BPI items and the items' "Missing?" selects are disabled, so staff cannot
  change them; an item with an unresolved data query stays editable, with a
  note naming the query and a reason box. A disabled input is not posted:
  Django takes a disabled field's value from the form's instance, so saving
  the rest of the form (MSTS, vital status …) keeps the answers as they are.
  The scores of instruments with no editable item are shown as stored, not
  recomputed by the page's script. The service (``form_save``) is the rule;
  this is only what the page offers.

Paper transcriptions stay editable: staff typed them.
"""

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from crispy_forms.layout import Fieldset, LayoutObject
from django import forms
from django.template.loader import render_to_string
from django.utils.translation import get_language_info

from crf.epro.corrections import (
    ELECTRONIC_MODES,
    field_queries,
    submitted_response,
)
from crf.epro.items import PROM_FIELDS
from crf.forms.field_wrappers import MISSING_PREFIX
from crf.forms.wording import SCORES, ScoreOutput
from crf.models import CrfForm, PromResponse, Respondent, ResponseMode

BANNER_TEMPLATE = "crf/includes/prom_response_banner.html"
CORRECTION_NOTE = "Correction through query #{pk}: give a reason."
TIME_FORMAT = "%Y-%m-%d %H:%M %Z"
HOW = {
    ResponseMode.LINK: "by personal link",
    ResponseMode.TABLET: "on the clinic tablet",
}


@dataclass(frozen=True)
class PromBanner:
    """What the questionnaire section says about the visit's response."""

    mode: str
    text: str


def _site_time(moment, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime(TIME_FORMAT) if moment else "–"


def _language_name(code: str) -> str:
    """The language in English (staff pages are English): "French"."""
    try:
        return get_language_info(code)["name"]
    except KeyError:
        return code


def _respondent(response: PromResponse) -> str:
    if response.respondent == Respondent.PROXY:
        return "the participant's proxy"
    return "the participant"


def prom_banner(instance: CrfForm | None) -> PromBanner | None:
    """The banner of ``instance``'s questionnaires: a submitted response by
    link or tablet, or a paper one transcribed by staff; ``None`` otherwise."""
    if instance is None or instance.pk is None:
        return None
    response = submitted_response(instance)
    if response is None:
        return None
    if response.mode not in ELECTRONIC_MODES:
        who = response.entered_by
        name = (who.get_full_name() or who.get_username()) if who else "staff"
        return PromBanner(response.mode, f"Transcribed from paper by {name}.")
    zone = ZoneInfo(instance.participant.site.time_zone)
    language = _language_name(response.language)
    text = (
        f"Answered by {_respondent(response)} {HOW[response.mode]}, in "
        f"{language}, started {_site_time(response.started_at, zone)}, submitted "
        f"{_site_time(response.submitted_at, zone)} (site time)."
    )
    return PromBanner(response.mode, text)


class PromBannerOutput(LayoutObject):
    """The banner, first in the questionnaire section of the edit page."""

    def __init__(self, banner: PromBanner):
        self.banner = banner
        self.fields = []

    def render(self, form, context, template_pack=None, **kwargs):
        return render_to_string(BANNER_TEMPLATE, {"prom_banner": self.banner})


def _first_prom_fieldset(layout):
    return next(
        (
            obj
            for obj in layout.fields
            if isinstance(obj, Fieldset)
            and any(name in PROM_FIELDS for name in _names(obj))
        ),
        None,
    )


def _names(fieldset: Fieldset) -> set[str]:
    return {pointer.name for pointer in fieldset.get_field_names()}


def prom_answers_protect(form) -> None:
    """See the module docstring. ``form`` is a ``CrfModelForm`` with its
    layout built, its wrappers and missing-code selects added."""
    instance = form.instance
    names = [name for name in PROM_FIELDS if name in form.fields]
    if not names or instance.pk is None:
        return
    banner = prom_banner(instance)
    if banner is None:
        return
    section = _first_prom_fieldset(form.helper.layout)
    if section is not None:
        section.fields.insert(0, PromBannerOutput(banner))
    if banner.mode == ResponseMode.PAPER:
        return
    queried = field_queries(instance, names)
    for name in names:
        if name in queried:
            field = form.fields[name]
            note = CORRECTION_NOTE.format(pk=queried[name])
            field.help_text = f"{field.help_text} {note}".strip()
            continue
        form.fields[name].disabled = True
        select = form.fields.get(f"{MISSING_PREFIX}{name}")
        if select is not None:
            select.disabled = True
    _stored_scores_shown(form, set(names) - set(queried))
    if queried:
        _reason_offer(form)


def _stored_scores_shown(form, locked: set[str]) -> None:
    """An instrument whose items are all locked shows its stored score."""
    still = {block.key for block in SCORES if set(block.items) <= locked}
    for fieldset in form.helper.layout.fields:
        for obj in getattr(fieldset, "fields", []):
            if isinstance(obj, ScoreOutput) and obj.block.key in still:
                obj.live = False


def _reason_offer(form) -> None:
    """A correction needs a reason, draft or not (``form_save``): the reason
    box, first on the page, when the form does not ask for one already."""
    if form.reason_field in form.fields:
        return
    form.fields[form.reason_field] = forms.CharField(
        label="Reason for change",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when you correct one of the participant's answers.",
    )
    form.helper.layout.fields.insert(0, Fieldset("", form.reason_field))


def prom_section_legend(spec) -> str | None:
    """The legend of ``spec``'s first questionnaire fieldset (where the
    read-only page shows the banner)."""
    return next(
        (
            legend
            for legend, names in spec.fieldsets
            if any(name in PROM_FIELDS for name in names)
        ),
        None,
    )

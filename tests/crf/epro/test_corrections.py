"""Staff and the participant's own questionnaire answers (issue 16, "Records";
PROTOCOL §13): the visit's follow-up form shows who answered, how, in which
language and when; the answers are read-only to staff, except through a data
query with a reason (audited, the response corrected too); saving the rest
of the form keeps them; paper transcriptions are recorded as paper responses;
the API refuses a change and shows the response; the audit page names the
participant, and contact details only to the participant's site staff."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from crf.epro.items import PAGES
from crf.epro.responses import response_open, response_page_finish, response_submit
from crf.forms.services import form_save
from crf.models import (
    Baseline,
    ContactPreference,
    FollowUp,
    FormStatus,
    Operative,
    PromResponse,
    Respondent,
    ResponseMode,
)
from crf.queries.services import query_close, query_raise
from tests.clock import today
from tests.crf.bulk import form_kwargs, participants_add
from tests.factories import api_client_for

DAY = datetime.timedelta(days=1)
VISIT = "6w"
EQ5D = {
    "eq5d_mobility": "2",
    "eq5d_self_care": "1",
    "eq5d_usual_activities": "3",
    "eq5d_pain_discomfort": "DEC",
    "eq5d_anxiety_depression": "1",
    "eq5d_vas": "70",
}


@pytest.fixture
def person(users, site_a):
    """A randomized participant whose 6-week window is open today."""
    (participant,) = participants_add(site_a, 1, actor=users["coordinator"])
    Operative.objects.create(
        **form_kwargs(
            participant,
            users["coordinator"],
            surgery_date=today() - 42 * DAY,
        )
    )
    return participant


def answered(person, *, mode=ResponseMode.LINK, respondent=Respondent.PARTICIPANT):
    """The participant's 6-week questionnaires, answered in French and
    submitted (TESS all 3 but item 2 "does not apply", BPI all 4)."""
    response = response_open(
        participant=person,
        visit=VISIT,
        mode=mode,
        language="fr",
        respondent=respondent,
    )
    tess = {name: "3" for name in PAGES["tess"]}
    tess["tess_2"] = "NA"
    assert response_page_finish(response, "tess", tess) == {}
    assert response_page_finish(response, "eq5d", EQ5D) == {}
    assert response_page_finish(response, "bpi", dict.fromkeys(PAGES["bpi"], "4")) == {}
    return response_submit(response)


def edit_url(person):
    return reverse("crf:visit_edit", args=[person.study_id, VISIT])


def posted_as_browser(page, **changes) -> dict:
    """What a browser posts from the page's form: every enabled field's
    current value (disabled inputs are never posted), with ``changes``."""
    form = page.context["form"]
    data = {}
    for bound in form:
        if bound.field.disabled:
            continue
        value = bound.value()
        if value is None or value is False:
            continue
        data[bound.html_name] = "on" if value is True else str(value)
    data.pop("reason", None)
    data.update({k: v for k, v in changes.items() if v is not None})
    for name in [k for k, v in changes.items() if v is None]:
        data.pop(name, None)
    return {**data, "save_draft": "1"}


def follow_up(person) -> FollowUp:
    return FollowUp.objects.get(participant=person, visit=VISIT)


def disabled(html: str, name: str) -> bool:
    """Whether every input or select named ``name`` on the page is disabled."""
    tags = re.findall(rf'<(?:input|select)[^>]*name="{name}"[^>]*>', html)
    assert tags, name
    return all(re.search(r"\sdisabled(?:[\s>=]|$)", tag) for tag in tags)


# ------------------------------------------------------------ the page


@pytest.mark.django_db
def test_the_follow_up_page_shows_who_answered_and_locks_their_answers(
    client, users, person
):
    response = answered(person)
    client.force_login(users["coordinator"])
    page = client.get(edit_url(person))
    html = page.content.decode()
    banner = re.search(r'id="prom-response-banner"[^>]*>([^<]*)', html).group(1)
    local = timezone.localtime(response.submitted_at, ZoneInfo(person.site.time_zone))
    assert "Answered by the participant by personal link, in French" in banner
    assert f"submitted {local:%Y-%m-%d %H:%M}" in banner
    assert "(site time)" in banner
    # The banner opens the questionnaire section (TESS comes first).
    assert html.index("prom-response-banner") < html.index('name="tess_1"')
    for name in ("tess_1", "tess_5", "eq5d_mobility", "eq5d_vas", "bpi_worst"):
        assert disabled(html, name), name
    assert disabled(html, "missing__tess_2")
    assert disabled(html, "missing__eq5d_pain_discomfort")
    # Staff's own items stay editable.
    assert not disabled(html, "msts_pain")
    assert not disabled(html, "vital_status")
    # The scores as stored, not recomputed by the page.
    assert 'id="stored-score-tess"' in html
    assert 'id="stored-score-bpi"' in html
    assert 'id="score-msts"' in html


@pytest.mark.django_db
def test_a_proxy_on_the_tablet_is_named_and_the_read_only_page_shows_it(
    client, users, person
):
    answered(person, mode=ResponseMode.TABLET, respondent=Respondent.PROXY)
    client.force_login(users["datamanager"])  # may view, not enter: read-only
    html = client.get(edit_url(person)).content.decode()
    assert 'id="read-only-form"' in html
    assert (
        "Answered by the participant&#x27;s proxy on the clinic tablet, in French"
        in html
    )


@pytest.mark.django_db
def test_saving_the_rest_of_the_form_keeps_the_participant_answers(
    client, users, person
):
    answered(person)
    client.force_login(users["coordinator"])
    page = client.get(edit_url(person))
    data = posted_as_browser(
        page,
        visit_date=today().isoformat(),
        vital_status="alive",
        msts_pain="4",
        tess_5="1",  # tampered: a disabled input's value is ignored
    )
    assert "tess_1" not in data and "missing__tess_2" not in data
    reply = client.post(edit_url(person), data)
    assert reply.status_code == 302, reply.context["form"].errors
    saved = follow_up(person)
    assert saved.msts_pain == 4 and saved.vital_status == "alive"
    assert saved.tess_1 == 3 and saved.tess_5 == 3
    assert saved.missing_codes["tess_2"] == "NA"
    assert saved.missing_codes["eq5d_pain_discomfort"] == "DEC"
    assert saved.eq5d_vas == 70 and saved.bpi_worst == 4
    assert float(saved.tess_score) == 50.0
    prom = PromResponse.objects.get(participant=person)
    assert prom.mode == ResponseMode.LINK and prom.answers["tess_5"] == 3


@pytest.mark.django_db
def test_the_service_refuses_a_change_to_an_answer_without_a_query(users, person):
    answered(person)
    form = follow_up(person)
    form.tess_5 = 1
    with pytest.raises(ValidationError) as refusal:
        form_save(actor=users["coordinator"], form=form, complete=False)
    assert "tess_5" in refusal.value.message_dict
    assert follow_up(person).tess_5 == 3


# ------------------------------------------------------------ the API


@pytest.mark.django_db
def test_the_api_refuses_a_change_to_an_answer_and_shows_the_response(users, person):
    answered(person)
    api = api_client_for(users["coordinator"])
    form = follow_up(person)
    url = f"/api/v1/participants/{person.study_id}/forms/follow-up/{form.pk}/"
    reply = api.put(url, {"fields": {"tess_5": 1}}, format="json")
    assert reply.status_code == 400
    assert "tess_5" in reply.json()["fields"]
    assert follow_up(person).tess_5 == 3
    # Other fields change; the answers stay.
    reply = api.put(url, {"fields": {"msts_pain": 2}}, format="json")
    assert reply.status_code == 200, reply.json()
    body = reply.json()
    assert body["fields"]["tess_5"] == 3
    assert body["prom_response"]["mode"] == "link"
    listed = api.get(f"/api/v1/participants/{person.study_id}/forms/").json()
    visit = next(f for f in listed if f["key"] == "follow-up")
    prom = visit["prom_response"]
    assert prom["respondent"] == "participant" and prom["language"] == "fr"
    assert prom["status"] == "submitted" and prom["submitted_at"]
    operative = next(f for f in listed if f["key"] == "operative")
    assert operative["prom_response"] is None


# ------------------------------------------------------------ corrections


@pytest.mark.django_db
def test_a_correction_goes_through_a_query_with_a_reason(client, users, person):
    answered(person)
    query = query_raise(
        actor=users["datamanager"],
        form=follow_up(person),
        field_name="tess_5",
        text="The participant says item 5 should be 'a little difficult'.",
    )
    client.force_login(users["coordinator"])
    page = client.get(edit_url(person))
    html = page.content.decode()
    assert not disabled(html, "tess_5")
    assert disabled(html, "tess_4")
    assert f"Correction through query #{query.pk}: give a reason." in html

    # No reason: refused, on the reason box, nothing saved.
    refused = client.post(edit_url(person), posted_as_browser(page, tess_5="2"))
    assert refused.status_code == 200
    assert "reason" in refused.context["form"].errors
    assert follow_up(person).tess_5 == 3

    reason = "Query answered: participant confirmed item 5 on the phone."
    data = {**posted_as_browser(page, tess_5="2"), "reason": reason}
    reply = client.post(edit_url(person), data)
    assert reply.status_code == 302, reply.context["form"].errors
    assert follow_up(person).tess_5 == 2
    prom = PromResponse.objects.get(participant=person)
    assert prom.answers["tess_5"] == 2 and prom.mode == ResponseMode.LINK

    history = client.get(reverse("crf:visit_history", args=[person.study_id, VISIT]))
    changes = [
        (change.old, change.new, entry.reason, entry.username)
        for entry in history.context["page"]
        for change in entry.changes
        if change.name == "tess_5"
    ]
    assert ("3", "2", reason, "coordinator") in changes

    query_close(actor=users["datamanager"], query=query, text="Corrected.")
    html = client.get(edit_url(person)).content.decode()
    assert disabled(html, "tess_5")
    assert "Correction through query" not in html


# ------------------------------------------------------------ paper


@pytest.mark.django_db
def test_staff_transcribing_paper_record_a_paper_response(client, users, person):
    client.force_login(users["coordinator"])
    page = client.get(edit_url(person))
    html = page.content.decode()
    assert not disabled(html, "tess_1")
    assert "prom-response-banner" not in html
    data = posted_as_browser(
        page,
        visit_date=today().isoformat(),
        vital_status="alive",
        tess_1="4",
        eq5d_vas="55",
    )
    assert client.post(edit_url(person), data).status_code == 302
    prom = PromResponse.objects.get(participant=person, visit=VISIT)
    assert prom.mode == ResponseMode.PAPER and prom.is_submitted
    assert prom.entered_by == users["coordinator"]
    assert prom.answers == {"tess_1": 4, "eq5d_vas": 55}

    page = client.get(edit_url(person))
    html = page.content.decode()
    assert "Transcribed from paper by" in html
    assert not disabled(html, "tess_1")  # staff's own transcription
    reply = client.post(edit_url(person), posted_as_browser(page, tess_1="5"))
    assert reply.status_code == 302, reply.context["form"].errors
    prom.refresh_from_db()
    assert prom.answers["tess_1"] == 5 and prom.mode == ResponseMode.PAPER


# ------------------------------------------------------------ audit page


@pytest.mark.django_db
def test_the_audit_page_names_the_participant_and_hides_contacts_from_the_centre(
    client, users, person
):
    ContactPreference.objects.create(
        participant=person,
        electronic_contact=True,
        channel="email",
        email="patient@example.org",
        language="fr",
        recorded_by=users["coordinator"],
    )
    answered(person)
    url = reverse("participant_audit", args=[person.study_id])
    client.force_login(users["coordinator"])
    page = client.get(url)
    entries = list(page.context["page"])
    by_record = {}
    for entry in entries:
        by_record.setdefault(entry.record, set()).add(entry.username)
    assert by_record["Follow-up visit: 6 weeks"] == {"The participant (personal link)"}
    assert by_record["Questionnaires: 6 weeks"] == {"The participant (personal link)"}
    html = page.content.decode()
    assert "perform-epro" not in html
    assert "patient@example.org" in html  # the participant's site staff

    client.force_login(users["datamanager"])
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "patient@example.org" not in html
    assert "Contact preference" not in html
    assert "Questionnaires: 6 weeks" in html
    csv_export = client.get(url, {"format": "csv"}).content.decode()
    assert "patient@example.org" not in csv_export
    assert "The participant (personal link)" in csv_export
    # Asking for the kind by name does not bring it back.
    page = client.get(url, {"kind": "crf.ContactPreference"})
    assert "patient@example.org" not in page.content.decode()


@pytest.mark.django_db
def test_the_baseline_page_locks_answers_given_on_the_clinic_tablet(
    client, users, person
):
    now = timezone.now()
    Baseline.objects.create(
        **form_kwargs(person, users["coordinator"], FormStatus.DRAFT, tess_1=3)
    )
    PromResponse.objects.create(
        participant=person,
        visit="bl",
        mode=ResponseMode.TABLET,
        language="en",
        status=PromResponse.Status.SUBMITTED,
        answers={"tess_1": 3},
        started_at=now,
        last_saved_at=now,
        submitted_at=now,
    )
    client.force_login(users["coordinator"])
    url = reverse("crf:single_edit", args=[person.study_id, "baseline"])
    html = client.get(url).content.decode()
    assert "Answered by the participant on the clinic tablet, in English" in html
    assert disabled(html, "tess_1") and disabled(html, "bpi_worst")
    assert not disabled(html, "msts_pain") and not disabled(html, "ecog")

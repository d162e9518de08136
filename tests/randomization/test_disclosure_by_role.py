"""Role × response: where a within-stratum sequence number, block data or an arm
in the log could show, for each role that sees randomization data.

PROTOCOL §5: only statisticians see sequence numbers and block structure; the
randomizer's log names no arm (the data manager's and statistician's do, as
their balance page does). The participant randomized last is number 5 of its
stratum while its study ID ends in 8 (three other TOR participants are in the
other stratum), so a leaked number cannot hide in the study ID; the
statistician's responses are the positive control that each check can see it.
"""

import csv
import datetime
import io
import json
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from config.celery_app import app
from infrastructure.models import OutboundEmail
from randomization import services
from randomization.models import Slot
from randomization.services import emails as randomization_emails
from tests.factories import api_client_for

SEQUENCE = 5
ROLES = ["coordinator", "investigator", "datamanager", "randomizer", "statistician"]
LOG_ARMS = {"datamanager", "statistician"}
ARM_LABELS = {
    "IF": "Internal fixation",
    "RER": "Resection with endoprosthetic reconstruction",
}
SEQUENCE_WORDS = ("within stratum", "in stratum", "sequence", "block")


@pytest.fixture
def eager_tasks(monkeypatch):
    monkeypatch.setattr(app.conf, "task_always_eager", True)
    monkeypatch.setattr(app.conf, "task_eager_propagates", True)


@pytest.fixture
def fifth_in_stratum(
    client,
    users,
    site_a,
    active_list,
    consented,
    eager_tasks,
    django_capture_on_commit_callbacks,
):
    """The fifth allocation of TOR|impending (study ID PRF-TOR-0008), made on
    the web page with its e-mails sent; the seven before it made quietly."""
    for fracture_status in ["complete"] * 3 + ["impending"] * (SEQUENCE - 1):
        services.participant_randomize(
            actor=users["randomizer"],
            participant=consented(site_a, fracture_status),
        )
    participant = consented(site_a, "impending")
    mail.outbox.clear()
    client.force_login(users["randomizer"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("randomization:randomize", args=[participant.study_id])
        )
    assert response.status_code == 302
    client.logout()
    slot = Slot.objects.select_related("stratum").get(participant=participant)
    assert (slot.stratum.key, slot.sequence) == ("TOR|impending", SEQUENCE)
    assert participant.study_id == "PRF-TOR-0008"
    return participant, slot


def api_client(user):
    return api_client_for(user)


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def json_keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in json_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in json_keys(v)}
    return set()


def html_shows_number(page: str) -> bool:
    """The number as an element's whole text (a table cell, a <dd>)."""
    return re.search(rf">\s*{SEQUENCE}\s*<", page) is not None


def assert_no_block_words(text: str, where):
    lowered = text.lower()
    for word in SEQUENCE_WORDS:
        assert word not in lowered, (where, word)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_only_the_statistician_sees_the_number_within_the_stratum(
    client, users, fifth_in_stratum, role
):
    participant, slot = fifth_in_stratum
    statistician = role == "statistician"
    client.force_login(users[role])

    # Allocation page.
    page = client.get(reverse("randomization:allocation", args=[participant.study_id]))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-arm="{slot.arm}"' in html  # the arm, revealed when made
    assert ("Number within stratum" in html) is statistician
    assert (f'id="allocation-sequence">{SEQUENCE}<' in html) is statistician
    assert html_shows_number(html) is statistician
    assert "block" not in html.lower()

    # Participant page.
    html = client.get(
        reverse("participant_detail", args=[participant.study_id])
    ).content.decode()
    assert "within stratum" not in html.lower() and not html_shows_number(html)
    assert "block" not in html.lower()

    # Confirmation PDF: filed at the site, so without the number for
    # everyone, the statistician's copy included.
    response = client.get(
        reverse("randomization:allocation_pdf", args=[participant.study_id])
    )
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert ARM_LABELS[slot.arm] in text
    assert "Number within stratum" not in text
    assert re.search(rf"(stratum|impending)\s*{SEQUENCE}\b", text) is None
    assert "block" not in text.lower() and "sequence" not in text.lower()

    # Randomization log: page and CSV (site staff may not open it).
    log = client.get(reverse("randomization:log"))
    csv_response = client.get(reverse("randomization:log"), {"format": "csv"})
    if role in {"coordinator", "investigator"}:
        assert (log.status_code, csv_response.status_code) == (403, 403)
    else:
        html = log.content.decode()
        assert ("No. in stratum" in html) is statistician
        assert html_shows_number(html) is statistician
        assert "block" not in html.lower()
        rows = list(csv.reader(io.StringIO(csv_response.content.decode())))
        header = rows[0]
        row = dict(zip(header, rows[1], strict=True))  # newest first
        assert row["study_id"] == participant.study_id
        assert ("sequence" in header) is statistician
        assert (str(SEQUENCE) in rows[1]) is statistician
        assert not any("block" in column for column in header)
        # Arms: data manager and statistician only.
        shows_arms = role in LOG_ARMS
        assert ("arm" in header) is shows_arms
        assert (row.get("arm") == slot.arm) is shows_arms
        assert not shows_arms or all(
            r[header.index("arm")] in ARM_LABELS for r in rows[1:]
        )
        assert ('<th scope="col">Arm</th>' in html) is shows_arms
        assert (f'title="{ARM_LABELS[slot.arm]}"' in html) is shows_arms
        if not shows_arms:
            for label in ARM_LABELS.values():
                assert label not in html, (role, label)
            assert "data-arm" not in html
            cells = {cell for r in rows[1:] for cell in r}
            assert not cells & set(ARM_LABELS), role

    # API: the participant, and a repeated randomize request (the randomizer's
    # answer is the allocation; everyone else may not randomize).
    api = api_client(users[role])
    detail = api.get(f"/api/v1/participants/{participant.study_id}/")
    assert detail.status_code == 200
    allocation = detail.json()["allocation"]
    assert allocation["arm"] == slot.arm
    assert (allocation.get("sequence") == SEQUENCE) is statistician
    assert ("sequence" in json_keys(detail.json())) is statistician
    assert "block" not in json.dumps(detail.json()).lower()
    again = api.post(f"/api/v1/participants/{participant.study_id}/randomize/")
    if role == "randomizer":
        assert again.status_code == 200
        assert again.json()["arm"] == slot.arm
    else:
        assert again.status_code == 403
    assert not {"sequence", "block"} & json_keys(again.json())
    listing = api.get("/api/v1/participants/")
    assert not {"sequence", "block"} & json_keys(listing.json())


@pytest.fixture
def email_contexts(monkeypatch):
    """The context of every template the randomization e-mails render."""
    contexts = []
    original = randomization_emails.render_to_string

    def recording(template_name, context=None, *args, **kwargs):
        contexts.append((template_name, dict(context or {})))
        return original(template_name, context, *args, **kwargs)

    monkeypatch.setattr(randomization_emails, "render_to_string", recording)
    return contexts


@pytest.mark.django_db
def test_the_allocation_emails_carry_no_sequence_or_block_data(
    email_contexts, users, fifth_in_stratum
):
    participant, slot = fifth_in_stratum
    # The template is handed plain values, no object through which the slot's
    # sequence or block could be reached.
    assert email_contexts
    for template_name, context in email_contexts:
        assert template_name == "randomization/email/allocation.txt"
        for name, value in context.items():
            assert isinstance(value, str | datetime.datetime), (name, value)
    recipients = sorted(to for message in mail.outbox for to in message.to)
    assert recipients == sorted([users["coordinator"].email, users["randomizer"].email])
    for message in mail.outbox:
        for text in (message.subject, message.body):
            assert_no_block_words(text, message.to)
            assert re.search(rf"\b{SEQUENCE}\b", text) is None, text
        assert participant.study_id in message.body
        assert f"{ARM_LABELS[slot.arm]} ({slot.arm})" in message.body
    rows = OutboundEmail.objects.filter(kind="allocation")
    assert sorted(row.to for row in rows) == sorted(
        [[users["coordinator"].email], [users["randomizer"].email]]
    )
    for row in OutboundEmail.objects.all():
        for text in (row.key, row.subject, row.body_text, row.body_html):
            assert_no_block_words(text, row.key)
        # The key names the allocation by study ID, never by its slot (whose
        # id would number it within the stratum).
        assert f":{slot.pk}:" not in row.key


@pytest.mark.django_db
def test_the_randomizer_sees_only_the_arms_it_allocated_and_only_for_a_day(
    client, users, site_a, active_list, consented, settings
):
    """Page after page, every arm of every stratum would be the running
    balance the log withholds from the randomizer (PROTOCOL §5)."""
    from perform import roles
    from tests.factories import user_with_role

    participant = consented(site_a)
    services.participant_randomize(actor=users["randomizer"], participant=participant)
    url = reverse("randomization:allocation", args=[participant.study_id])
    api_url = f"/api/v1/participants/{participant.study_id}/"
    client.force_login(users["randomizer"])
    assert client.get(url).status_code == 200
    assert api_client_for(users["randomizer"]).get(api_url).json()["allocation"]

    colleague = user_with_role(roles.RANDOMIZER, username="randomizer2")
    client.force_login(colleague)
    assert client.get(url).status_code == 404
    assert api_client_for(colleague).get(api_url).json()["allocation"] is None

    hours = settings.RANDOMIZATION["RANDOMIZER_SEES_ARM_HOURS"]
    Slot.objects.filter(participant=participant).update(
        allocated_at=timezone.now() - datetime.timedelta(hours=hours, minutes=1)
    )
    client.force_login(users["randomizer"])
    assert client.get(url).status_code == 404
    assert api_client_for(users["randomizer"]).get(api_url).json()["allocation"] is None
    # Those who need it still see it: the site (surgery) and the balance roles.
    for role in ("coordinator", "datamanager", "statistician"):
        client.force_login(users[role])
        assert client.get(url).status_code == 200, role

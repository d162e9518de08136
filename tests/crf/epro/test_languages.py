"""Languages (PROTOCOL §13): the platform's own text on patient-facing pages
and in invitations follows the participant's preferred language, English and
French complete; the committed French catalogue is complete and its compiled
.mo is the one Django reads."""

import datetime
import gettext
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.urls import reverse

from crf.epro.invitations import epro_sweep
from crf.epro.links import token_for
from crf.models import ContactPreference, Operative, PromResponse, SurveyInvitation
from infrastructure.models import OutboundEmail
from tests.crf.bulk import form_kwargs, participants_add
from tests.crf.epro.survey_support import (
    ANSWERS,
    all_pages_post,
    invited,
    page_post,
    participant_operated,
)

TORONTO = ZoneInfo("America/Toronto")
DAY = datetime.timedelta(days=1)
# Surgery on 20 November: the 2-week window opens on 30 November (day 10)
# and closes on 11 December (day 21), the date the messages give.
SURGERY = datetime.date(2026, 11, 20)
SWEEP = datetime.datetime(2026, 11, 30, 9, tzinfo=TORONTO)
NBSP = "\u00a0"  # French puts a no-break space before a colon

BASE_DIR = Path(settings.BASE_DIR)
FRENCH_PO = BASE_DIR / "locale" / "fr" / "LC_MESSAGES" / "django.po"
FRENCH_MO = FRENCH_PO.with_suffix(".mo")


def _translations_missing():
    """scripts/translations_missing.py, the lead's checklist after a merge."""
    path = BASE_DIR / "scripts" / "translations_missing.py"
    spec = importlib.util.spec_from_file_location("translations_missing", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _contact(site, actor, *, language, channel):
    """A randomized participant operated on SURGERY, who agreed to be
    contacted through ``channel`` in ``language``."""
    (person,) = participants_add(site, 1, actor=actor)
    Operative.objects.create(**form_kwargs(person, actor, surgery_date=SURGERY))
    ContactPreference.objects.create(
        participant=person,
        electronic_contact=True,
        channel=channel,
        email="patient@example.org" if channel == "email" else "",
        phone="+14165550123" if channel == "sms" else "",
        language=language,
        recorded_by=actor,
    )
    return person


def french_survey_path(site, actor) -> str:
    """The survey link of a French participant invited by the sweep of
    SWEEP (fixed dates, for the messages' wording). The survey page tests
    use ``_french_participant`` instead: the page checks the window against
    today, which SWEEP's window stops holding after 11 December 2026."""
    person = _contact(site, actor, language="fr", channel="email")
    epro_sweep(now=SWEEP)
    invitation = SurveyInvitation.objects.get(participant=person, visit="2w")
    return reverse("epro:survey", args=[token_for(invitation.pk, invitation.nonce)])


def _message(person, kind="epro_invitation"):
    invitation = SurveyInvitation.objects.get(participant=person, visit="2w")
    key = f"epro-invitation:{invitation.pk}"
    if kind == "epro_reminder":
        key = f"epro-reminder:{invitation.pk}:1"
    return OutboundEmail.objects.get(key=key, kind=kind)


@pytest.mark.django_db
def test_invitation_email_in_the_participants_language(users, site_a):
    actor = users["coordinator"]
    french = _contact(site_a, actor, language="fr", channel="email")
    english = _contact(site_a, actor, language="en", channel="email")

    assert epro_sweep(now=SWEEP).invitations == 2

    message = _message(french)
    assert message.channel == "email"
    assert message.subject == f"Étude PERFORM{NBSP}: vos questionnaires sont prêts"
    body = message.body_text
    assert body.startswith("Bonjour,\n\nLes questionnaires de votre visite de suivi")
    assert "visite de suivi à 2 semaines dans l’étude PERFORM sont prêts." in body
    assert (
        f"Veuillez y répondre au plus tard le 11 décembre 2026, sur cette page{NBSP}:"
        in body
    )
    assert "Cela prend environ 15 minutes." in body
    assert f"«{NBSP}Arrêter ces messages{NBSP}»" in body
    assert body.rstrip().endswith("L’équipe de l’étude PERFORM")
    for english_word in ("Hello", "questionnaires of your", "weeks", "Dec", "team"):
        assert english_word not in body

    message = _message(english)
    assert message.subject == "PERFORM study: your questionnaires are ready"
    body = message.body_text
    assert body.startswith(
        "Hello,\n\nThe questionnaires of your 2 weeks visit in the PERFORM study"
    )
    assert "Please answer them by 11 December 2026 on this page:" in body
    assert body.rstrip().endswith("The PERFORM study team")
    assert "Bonjour" not in body and "décembre" not in body


@pytest.mark.django_db
def test_reminder_email_in_french(users, site_a):
    path = french_survey_path(site_a, users["coordinator"])

    assert epro_sweep(now=SWEEP + 3 * DAY).reminders == 1

    message = OutboundEmail.objects.get(kind="epro_reminder")
    assert path in message.body_text
    assert message.subject == (
        f"Étude PERFORM{NBSP}: rappel concernant vos questionnaires"
    )
    assert message.body_text.startswith(
        f"Bonjour,\n\nCeci est un rappel{NBSP}: les questionnaires de votre "
        "visite de suivi à 2 semaines dans l’étude PERFORM attendent vos réponses."
    )
    assert "11 décembre 2026" in message.body_text


@pytest.mark.django_db
def test_text_message_in_french(users, site_a):
    actor = users["coordinator"]
    french = _contact(site_a, actor, language="fr", channel="sms")
    english = _contact(site_a, actor, language="en", channel="sms")
    epro_sweep(now=SWEEP)

    message = _message(french)
    assert message.channel == "sms"
    assert message.to == ["+14165550123"]
    assert message.body_text.startswith(
        "Étude PERFORM : les questionnaires de votre visite de suivi à 2 semaines "
        "sont disponibles jusqu'au 11 décembre 2026 : http"
    )
    assert "/survey/" in message.body_text
    assert _message(english).body_text.startswith(
        "PERFORM study: your 2 weeks questionnaires are ready, until 11 December 2026: "
    )


def test_month_visits_and_plurals_in_french():
    """French takes the plural from 2 (plural=(n > 1)): "1 semaine", "2
    semaines"; "mois" does not change."""
    from django.utils import translation

    from crf.epro.invitations import patient_visit_label

    with translation.override("fr"):
        labels = [patient_visit_label(code) for code in ("1w", "6w", "1m", "12m")]
    assert labels == ["1 semaine", "6 semaines", "1 mois", "12 mois"]


def test_french_catalogue_is_complete_and_valid():
    """Every entry translated, none fuzzy, placeholders kept (msgfmt --check
    compares each translation's %(name)s with its msgid's)."""
    module = _translations_missing()
    missing = module.missing_entries(FRENCH_PO)
    assert missing == [], [entry.msgid for entry in missing]
    header = module.po_entries(FRENCH_PO)[0]
    assert header.msgid == ""
    assert "Language: fr\n" in header.msgstr[0]
    assert "Plural-Forms: nplurals=2; plural=(n > 1);\n" in header.msgstr[0]
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "GNU gettext's msgfmt is needed (apt-get install gettext)"
    subprocess.run(  # noqa: S603 - gettext's own tool, fixed arguments
        [msgfmt, "--check", "--output-file=/dev/null", str(FRENCH_PO)],
        check=True,
        capture_output=True,
    )


def test_compiled_french_catalogue_matches_the_po():
    """The committed .mo holds exactly the .po's translations (run `make
    messages` after editing the .po)."""
    module = _translations_missing()
    expected = {}
    for entry in module.po_entries(FRENCH_PO):
        if entry.obsolete or entry.fuzzy or entry.untranslated:
            continue
        msgid = entry.msgid
        if entry.msgctxt is not None:
            msgid = f"{entry.msgctxt}\x04{msgid}"
        if entry.msgid_plural is None:
            expected[msgid] = entry.msgstr[0]
        else:
            for index, text in entry.msgstr.items():
                expected[(msgid, index)] = text
    with FRENCH_MO.open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)._catalog
    # msgfmt leaves the extraction date out of the compiled header.
    catalog[""], expected[""] = _header(catalog[""]), _header(expected[""])
    assert catalog == expected


def _header(text: str) -> str:
    return "".join(
        line
        for line in text.splitlines(keepends=True)
        if not line.startswith("POT-Creation-Date:")
    )


def test_french_catalogue_holds_every_marked_text(tmp_path):
    """Text marked for translation since the last `make messages` fails here:
    makemessages runs on a copy of the code (the repository is left alone;
    the settings import tests.*, so they are copied too but not read) and the
    copy's French catalogue must have nothing left to translate."""
    copy = tmp_path / "src"
    shutil.copytree(
        BASE_DIR,
        copy,
        ignore=shutil.ignore_patterns(
            ".venv", "var", ".git", "node_modules", "static", "*.mo"
        ),
    )
    subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "--locale=fr",
            "--no-obsolete",
            "--add-location=file",
            "--ignore=tests/*",
        ],
        cwd=copy,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
        check=True,
        capture_output=True,
    )
    module = _translations_missing()
    regenerated = copy / FRENCH_PO.relative_to(BASE_DIR)
    missing = module.missing_entries(regenerated)
    assert missing == [], [entry.msgid for entry in missing]


def _french_participant(site, actor):
    """A participant operated 10 days ago (2-week window open today) whose
    contact preference is French."""
    person = participant_operated(site, actor, days_ago=10)
    ContactPreference.objects.filter(participant=person).update(language="fr")
    return person


def _error_summary(text: str) -> str:
    summary = text[text.index('id="error-summary"') :]
    return summary[: summary.index("</div>")]


@pytest.mark.django_db
def test_survey_pages_in_the_participants_language(client, users, site_a):
    """The link's pages are French for a participant who prefers French,
    even from an English browser: page title, progress, "prefer not to
    answer", buttons, the blank item's message, the thank-you page."""
    person = _french_participant(site_a, users["coordinator"])
    url = reverse("epro:survey", args=[invited(person)])
    browser = {"HTTP_ACCEPT_LANGUAGE": "en"}

    page = client.get(url, **browser)
    assert page.status_code == 200
    text = page.content.decode()
    assert PromResponse.objects.get(participant=person).language == "fr"
    assert '<html lang="fr">' in text
    assert "<title>Votre fonction physique (TESS) · Étude PERFORM</title>" in text
    assert re.search(r'id="survey-progress">\s*Page 1 sur 3<', text)
    assert "<span>Je préfère ne pas répondre</span>" in text
    assert "<span>Ne s’applique pas</span>" in text
    assert ">Page suivante</button>" in text
    assert ">Arrêter ces messages</a>" in text
    for english in ("Page 1 of 3", "I prefer not to answer", "Next page", "Item 1"):
        assert english not in text

    blank = {k: v for k, v in ANSWERS["tess"].items() if k != "tess_7"}
    refused = page_post(client, url, "tess", blank, **browser).content.decode()
    summary = _error_summary(refused)
    assert "Certaines questions n’ont pas encore de réponse." in summary
    assert 'href="#div_id_tess_7">Question 7</a>' in summary
    error = (
        f"Veuillez choisir une réponse, ou «{NBSP}Je préfère ne pas répondre{NBSP}»."
    )
    assert f'id="error_tess_7">{error}</p>' in refused
    assert "Please choose an answer" not in refused

    thanks = all_pages_post(client, url, **browser).content.decode()
    assert re.search(r'<h1[^>]*id="survey-thanks">Merci</h1>', thanks)
    assert "Vos réponses ont été envoyées à l’équipe de recherche." in thanks
    assert "Thank you" not in thanks
    assert PromResponse.objects.get(participant=person).is_submitted


@pytest.mark.django_db
def test_tablet_pages_follow_the_responses_language(client, users, site_a):
    """The tablet opens the response in the participant's language; its
    thank-you and exit pages (the coordinator's password) are French too."""
    person = _french_participant(site_a, users["coordinator"])
    client.force_login(users["coordinator"])
    client.post(
        reverse("epro:tablet_start", args=[person.study_id]),
        {"visit": "2w", "respondent": "participant"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert PromResponse.objects.get(participant=person).language == "fr"
    tablet = reverse("epro:tablet")
    assert "Page 1 sur 3" in client.get(tablet).content.decode()

    thanks = all_pages_post(client, tablet).content.decode()
    assert re.search(r"<h1[^>]*>Merci</h1>", thanks)
    assert "Veuillez rendre la tablette à l’équipe de recherche" in thanks

    exit_url = reverse("epro:tablet_exit")
    exit_page = client.get(exit_url).content.decode()
    assert '<html lang="fr">' in exit_page
    assert re.search(
        r'<h1[^>]*id="tablet-exit">Quitter le mode tablette</h1>', exit_page
    )
    assert (
        ">Mot de passe</label>" in exit_page and ">Déverrouiller</button>" in exit_page
    )
    wrong = client.post(exit_url, {"password": "not-the-password"}).content.decode()
    assert "Ce mot de passe n’est pas correct. La tablette reste verrouillée." in wrong
    assert client.get("/participants/")["Location"] == tablet

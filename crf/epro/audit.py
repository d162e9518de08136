"""How the audit trail (``perform.audit_trail``) shows the ePRO records
(PROTOCOL §13); registered from ``crf.apps``.

* A questionnaire response is named by its visit ("Questionnaires: 6
  weeks"). Its changes made by no user (the participant answering by link or
  on the tablet) are attributed to the respondent and the mode, "The
  participant (personal link)", as the visit's form is when the answers are
  copied into it (``crf.epro.responses._form_write``), never to the system
  account ``perform-epro`` nor to "system". A paper transcription is saved by
  staff (``form_save``): their name stands.
* A survey invitation is named by its visit; it holds no personal data.
* Contact preferences hold the participant's e-mail address and phone
  number: PROTOCOL §13 shows them to the participant's site staff only. Their
  audit entries are therefore listed only for users who are members of the
  participant's site (``crf.epro.contacts.contact_details_visible``), who see
  old and new values as for any record; the Methods Centre, who
  see every site's trail, do not see them at all (not even with the details
  blanked: which channel and when is enough for their monitoring elsewhere).
"""

from crf.epro.contacts import contact_details_visible
from crf.epro.windows import survey_visit_labels
from crf.models import Respondent, ResponseMode
from perform.audit_records import AuditLabels, AuditRecordKind


def _visit(data: dict) -> str:
    visit = data.get("visit") or ""
    return survey_visit_labels().get(visit, visit)


def _response(data: dict, _object_id: str, _labels: AuditLabels) -> str:
    return f"Questionnaires: {_visit(data)}"


def _invitation(data: dict, _object_id: str, _labels: AuditLabels) -> str:
    return f"Questionnaire invitation: {_visit(data)}"


def respondent_label(data: dict) -> str | None:
    """ "The participant (personal link)": who made a change to a response
    that no user made (the respondent, by the mode); ``None`` for paper."""
    mode = data.get("mode")
    if mode not in (ResponseMode.LINK, ResponseMode.TABLET):
        return None
    respondent = data.get("respondent") or Respondent.PARTICIPANT
    return f"{Respondent(respondent).label} ({ResponseMode(mode).label.lower()})"


def audit_record_kinds() -> list[AuditRecordKind]:
    return [
        AuditRecordKind(
            "crf.PromResponse",
            "Questionnaire response",
            _response,
            order=40,
            who=respondent_label,
        ),
        AuditRecordKind(
            "crf.SurveyInvitation", "Questionnaire invitation", _invitation, order=41
        ),
        AuditRecordKind(
            "crf.ContactPreference",
            "Contact preference",
            order=42,
            visible_to=contact_details_visible,
        ),
    ]

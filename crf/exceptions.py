"""CRF domain errors, in words a coordinator understands."""

from perform.exceptions import TrialError


class FormNotAllowed(TrialError):
    """The participant's lifecycle status does not allow this form (PROTOCOL
    §7, ``crf.forms.rules.form_allowed_for``); the message names the participant
    and their status."""

    code = "form_not_allowed"


class FormLocked(TrialError):
    code = "form_locked"


class ReasonRequired(TrialError):
    code = "reason_required"

    def __init__(self, message: str = ""):
        super().__init__(
            message
            or "This form has been completed before: give a reason for the change.",
            field="reason",
        )


class StaleForm(TrialError):
    code = "stale_form"

    def __init__(self):
        super().__init__(
            "Someone else saved this form while you were editing it. Reload it, "
            "check their changes and enter yours again."
        )


class StaleForms(TrialError):
    """Forms changed since a page listed them for signing or locking."""

    code = "stale_forms"

    def __init__(self, names: list[str]):
        super().__init__(
            "Changed since this page was shown: " + ", ".join(names) + ". Nothing "
            "was done: check the list again and confirm."
        )
        self.names = names


class FormIncomplete(TrialError):
    code = "form_incomplete"

    def __init__(self, missing: list[str]):
        super().__init__(
            "A complete form needs: " + ", ".join(missing) + ". Save it as a draft "
            "to finish later."
        )
        self.missing = missing


class SignatureRefused(TrialError):
    code = "signature_refused"

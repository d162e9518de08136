"""Randomization's domain errors, in words a coordinator or randomizer understands."""

from perform.exceptions import TrialError


class RandomizationError(TrialError):
    code = "randomization_error"


class NotRandomizable(RandomizationError):
    """The participant may not be randomized yet; ``reasons`` says why."""

    code = "not_randomizable"

    def __init__(self, reasons: list[str]):
        super().__init__("This participant cannot be randomized: " + "; ".join(reasons))
        self.reasons = reasons


class RandomizationClosed(RandomizationError):
    """No active allocation list, or none for this participant's stratum."""

    code = "randomization_closed"

    def __init__(self, message: str, *, stratum: str = ""):
        super().__init__(message)
        self.stratum = stratum


class StratumExhausted(RandomizationError):
    code = "stratum_exhausted"

    def __init__(self, stratum: str):
        super().__init__(
            f"The allocation list for stratum {stratum} is used up. Nobody was "
            "randomized; the statisticians have been alerted to extend the list."
        )
        self.stratum = stratum


class ListInvalid(RandomizationError):
    """A list or import that fails validation; ``errors`` are row-numbered."""

    code = "list_invalid"

    def __init__(self, errors: list[str]):
        shown = "; ".join(errors[:5]) + (
            f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        )
        super().__init__(f"The allocation list is not valid: {shown}")
        self.errors = errors


class ListStateError(RandomizationError):
    code = "list_state"

"""Warnings for the randomize confirmation page from the apps above
randomization (the CRFs' baseline, ...).

Randomization cannot import those apps (the layers contract), so each
registers a provider from its ``AppConfig.ready()``, as the participant page
takes its parts (``perform.panels``). The page shows every warning of every
provider, in order, while the participant waits for randomization. A warning
never blocks randomizing (``services.randomization_blockers`` does that): it
tells the randomizer something to resolve first if it is wrong.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from perform.models import Participant
from randomization.models import Slot


@dataclass(frozen=True)
class PreRandomizationWarnings:
    """``warnings(user, participant)`` gives the sentences to show (none: an
    empty list). ``participant`` is in the user's scope (the page read it
    through the site-scoped selector)."""

    key: str
    warnings: Callable[[Any, Participant], list[str]]
    order: int = 100


_providers: dict[str, PreRandomizationWarnings] = {}


def pre_randomization_warnings_register(provider: PreRandomizationWarnings) -> None:
    _providers[provider.key] = provider


def pre_randomization_warnings(user, participant: Participant) -> list[str]:
    """Every registered provider's warnings, in order; none once the
    participant holds a slot (the page then shows the allocation)."""
    if Slot.objects.filter(participant=participant).exists():
        return []
    return [
        warning
        for provider in sorted(_providers.values(), key=lambda p: (p.order, p.key))
        for warning in provider.warnings(user, participant)
    ]

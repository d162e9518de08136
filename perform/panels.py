"""The parts of a participant's page and API resource that belong to the apps
above the core (randomization's allocation, the CRF hub, ...).

The core cannot import those apps, so each contributes its part here from its
``AppConfig.ready()``, and the participant page and API resource show whatever
is registered, in order. A part decides for itself, from the user, whether it
shows and what (``context`` / ``value`` apply that app's access rules).

Written here because it is a dozen lines: a plugin library (django-plugins,
pluggy) would bring discovery and hooks the platform does not need.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ParticipantPanel:
    """A section of the participant page: ``template`` is included with the
    page's context plus what ``context(user, participant)`` returns; a panel
    whose ``context`` returns ``None`` is not shown. ``place`` is "top" (under
    the heading, above screening), "main" (under the eligibility checklist)
    or "actions" (a button among the page's actions, beside its heading)."""

    key: str
    template: str
    context: Callable[[Any, Any], dict | None]
    place: str = "main"
    order: int = 100


@dataclass(frozen=True)
class ParticipantResourcePart:
    """A field of the API's participant resource: ``value(user, participant)``
    gives its JSON value; ``schema`` is the serializer (or field) that
    documents it in the OpenAPI schema."""

    name: str
    value: Callable[[Any, Any], Any]
    schema: Any


_panels: dict[str, ParticipantPanel] = {}
_parts: dict[str, ParticipantResourcePart] = {}


def participant_panel_register(panel: ParticipantPanel) -> None:
    _panels[panel.key] = panel


def participant_resource_part_register(part: ParticipantResourcePart) -> None:
    _parts[part.name] = part


def participant_panels_for(user, participant) -> tuple[dict[str, list[str]], dict]:
    """The templates to include at each place of the page, in order, and the
    context they need (merged: each app names its own keys)."""
    places: dict[str, list[str]] = {"top": [], "main": [], "actions": []}
    context: dict = {}
    for panel in sorted(_panels.values(), key=lambda p: (p.order, p.key)):
        values = panel.context(user, participant)
        if values is None:
            continue
        places[panel.place].append(panel.template)
        context.update(values)
    return places, context


def participant_resource_parts() -> list[ParticipantResourcePart]:
    return sorted(_parts.values(), key=lambda part: part.name)

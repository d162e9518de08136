"""The API's JSON parser: DRF's, with a limit on nesting."""

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def json_depth_exceeds(value, limit: int) -> bool:
    """Whether ``value`` (parsed JSON) nests objects and arrays more than
    ``limit`` deep; ``{}`` and ``[]`` are depth 1. Iterative, so any depth
    the decoder produced can be walked."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class LimitedJSONParser(JSONParser):
    """Refuse JSON nested deeper than ``settings.API_JSON_MAX_DEPTH`` (400).

    Python's decoder recurses once per level and raises ``RecursionError``
    (not a ``ValueError``, so DRF's parser lets it through as a 500) at about
    a thousand levels; below that, deep nesting only costs the views time.
    No request of this API nests more than a few levels.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_JSON_MAX_DEPTH
        too_deep = ParseError(
            "JSON parse error - malformed or too deeply nested JSON "
            f"(at most {limit} levels)."
        )
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise too_deep from None
        if json_depth_exceeds(data, limit):
            raise too_deep
        return data

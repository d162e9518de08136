"""The one pagination helper every list page uses."""

import pytest
from django.test import RequestFactory

from infrastructure import pagination
from infrastructure.pagination import (
    MAX_PAGE_NUMBER,
    PAGE_SIZE,
    page_number_requested,
    paginate,
    rows_requested,
)

factory = RequestFactory()


@pytest.mark.parametrize(
    ("page", "number"),
    [
        (None, 1),
        ("3", 3),
        ("0", 1),
        ("-4", 1),
        ("two", 1),
        ("9" * 40, MAX_PAGE_NUMBER),
    ],
)
def test_the_page_asked_for_is_a_number_within_what_sql_can_offset(page, number):
    request = factory.get("/", {} if page is None else {"page": page})
    assert page_number_requested(request) == number
    start, stop = rows_requested(request)
    assert (start, stop) == ((number - 1) * PAGE_SIZE, number * PAGE_SIZE)
    assert stop < 2**63


def test_a_page_keeps_the_filters_but_not_its_own_number(monkeypatch):
    monkeypatch.setattr(pagination, "PAGE_SIZE", 3)
    request = factory.get("/", {"status": "sent", "kind": "digest", "page": "2"})
    context = paginate(request, list(range(8)))
    assert list(context["page"]) == [3, 4, 5]
    assert context["page"].has_next()
    assert context["query"] == "status=sent&kind=digest"


def test_a_page_past_the_end_shows_the_last_one():
    request = factory.get("/", {"page": "999"})
    context = paginate(request, list(range(PAGE_SIZE + 1)))
    assert list(context["page"]) == [PAGE_SIZE]
    assert context["query"] == ""

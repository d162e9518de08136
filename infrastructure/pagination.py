"""Pagination of every list page: one page size, one way to read the page
number, and the filters carried over to the previous/next links
(``templates/includes/pagination.html``)."""

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

PAGE_SIZE = 50
# The page number a list may ask for: beyond it an SQL OFFSET would leave
# PostgreSQL's bigint (the paginator shows the last page anyway).
MAX_PAGE_NUMBER = (2**63 - 1) // PAGE_SIZE


def page_number_requested(request: HttpRequest) -> int:
    """The page the request asks for, 1 for anything that is not a page number."""
    try:
        number = int(request.GET.get("page", 1))
    except ValueError:
        return 1
    return min(max(1, number), MAX_PAGE_NUMBER)


def rows_requested(request: HttpRequest) -> tuple[int, int]:
    """The row range (start, stop) of the requested page, for lists that fetch
    only one page's rows themselves (a hint: the paginator still decides)."""
    number = page_number_requested(request)
    return (number - 1) * PAGE_SIZE, number * PAGE_SIZE


def paginate(request: HttpRequest, rows) -> dict:
    """``{"page": the requested Page of rows, "query": the request's other GET
    parameters, URL-encoded}``: the context of ``includes/pagination.html``."""
    page: Page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return {"page": page, "query": query.urlencode()}

"""Nothing a user typed is lost to an expired session (issue 15).

A form POST of a signed-in page that arrives after the idle session expired
(``SESSION_COOKIE_AGE``) is kept server-side in a ``PendingSubmission`` row
(``submission_keep``, called by ``perform.middleware.KeptSubmissionMiddleware``
once CSRF has been checked); the browser gets only a random token in its new,
anonymous session and is sent to log in. When the *same* user is signed in
again and opens the page, the form view binds its form to the kept values
(``submission_restore``): nothing is saved until the user reviews and saves.
Only views marked ``restores_kept_submission`` (and binding their form to
``posted_or_restored``) keep posts: CRF entry, screening, consent and decline;
a post to any other signed-in page is sent to log in with a message saying
it was not kept.

Who the data belongs to comes from the expired session's row (Django keeps it
until ``clearsessions``). When that is unknown nothing is kept: the values
could not be given back safely. Uploaded files are not kept. Rows are
deleted when restored, when another user signs in holding the token, and when
older than ``PENDING_SUBMISSION_HOURS`` (purged whenever one is kept or
restored, and never restored once past that age).
"""

import datetime
import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpRequest, QueryDict
from django.utils import timezone

from perform.models import PendingSubmission, User

SESSION_KEY = "kept_submission"
NOT_KEPT_FIELDS = {"csrfmiddlewaretoken"}
KEPT_MESSAGE = "Your session expired; sign in again and your entries will be restored."
NOT_KEPT_MESSAGE = (
    "Your session expired; sign in again. What you entered on that page could "
    "not be kept: please enter it again."
)
RESTORED_MESSAGE = (
    "Your entries from before your session expired are filled in below. "
    "They are not saved yet: review them and save."
)


def restores_kept_submission(view):
    """Mark a form view that binds its form to ``posted_or_restored``: only
    posts to such views are kept (anything else could not be given back)."""
    view.restores_kept_submission = True
    return view


def _max_age() -> datetime.timedelta:
    return datetime.timedelta(hours=settings.PENDING_SUBMISSION_HOURS)


def expired_session_owner(*, session_key: str | None) -> str | None:
    """The username of the user an (expired) session belonged to, if its row
    still exists; ``None`` otherwise."""
    if not session_key:
        return None
    row = Session.objects.filter(session_key=session_key).first()
    if row is None:
        return None
    user_id = row.get_decoded().get("_auth_user_id")
    if user_id is None:
        return None
    return User.objects.filter(pk=user_id).values_list("username", flat=True).first()


def submissions_purge() -> int:
    """Delete kept submissions older than ``PENDING_SUBMISSION_HOURS``."""
    cutoff = timezone.now() - _max_age()
    deleted, _ = PendingSubmission.objects.filter(created_at__lt=cutoff).delete()
    return deleted


@transaction.atomic
def submission_keep(*, request: HttpRequest) -> PendingSubmission | None:
    """Keep ``request``'s POST fields (not its CSRF token, not files) for the
    user whose session expired, and put the token in the new session.
    ``None`` (nothing kept) when there is nothing to keep or the owner is
    unknown."""
    data = {
        name: request.POST.getlist(name)
        for name in request.POST
        if name not in NOT_KEPT_FIELDS
    }
    if not data:
        return None
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    username = expired_session_owner(session_key=session_key)
    if username is None:
        return None
    submissions_purge()
    kept = PendingSubmission.objects.create(
        token=secrets.token_urlsafe(32),
        path=request.path,
        data=data,
        username=username,
        created_at=timezone.now(),
    )
    request.session[SESSION_KEY] = kept.token
    return kept


def submission_discard_foreign(*, request: HttpRequest) -> None:
    """Delete the kept submission whose token ``request``'s session holds when
    it belongs to someone else than the signed-in user."""
    token = request.session.get(SESSION_KEY)
    if token is None:
        return
    kept = PendingSubmission.objects.filter(token=token).first()
    if kept is None or kept.username != request.user.get_username():
        request.session.pop(SESSION_KEY)
        if kept is not None:
            kept.delete()


@transaction.atomic
def submission_restore(*, request: HttpRequest) -> QueryDict | None:
    """The values kept for the signed-in user on this page, as POST data, with
    a message saying they are not saved yet; the row is deleted. ``None`` when
    nothing is kept for this user and page (or it is too old)."""
    token = request.session.get(SESSION_KEY)
    if token is None or not request.user.is_authenticated:
        return None
    kept = (
        PendingSubmission.objects.select_for_update()
        .filter(token=token, path=request.path)
        .first()
    )
    if kept is None:
        return None
    request.session.pop(SESSION_KEY)
    kept.delete()
    submissions_purge()
    if (
        kept.username != request.user.get_username()
        or kept.created_at < timezone.now() - _max_age()
    ):
        return None
    data = QueryDict(mutable=True)
    for name, values in kept.data.items():
        data.setlist(name, values)
    data._mutable = False
    messages.info(request, RESTORED_MESSAGE)
    return data


def posted_or_restored(request: HttpRequest) -> QueryDict | None:
    """The data to bind a form to: the POST, or on a GET what was kept for
    this user and page (``None`` for an unbound form)."""
    if request.method == "POST":
        return request.POST or None
    return submission_restore(request=request)

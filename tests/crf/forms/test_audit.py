"""The audit history page of a form (issue 4, must-show 4): every change with
user, time, old and new value and the reason for change."""

from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crf.forms.registry import FORMS
from crf.models import Operative
from tests.crf.forms import test_views
from tests.crf.forms.test_views import COMPLETE, entry_url

randomized = test_views.randomized  # the fixture: randomized 50 days ago

ITEMS = set(FORMS["operative"].fields)


@pytest.fixture
def operative_url(client, users, randomized):
    client.force_login(users["coordinator"])
    url = entry_url(randomized, "operative")
    response = client.post(url, {**COMPLETE["operative"], "save_complete": "1"})
    assert response.status_code == 302
    return url


def change(client, url, *, version, reason, **fields):
    response = client.post(
        url,
        {
            **COMPLETE["operative"],
            **fields,
            "based_on_version": version,
            "reason": reason,
            "save_complete": "1",
        },
    )
    assert response.status_code == 302, response.context["form"].errors


def history_rows(response):
    return [entry for entry in response.context["history"] if entry.action == "update"]


@pytest.mark.django_db
def test_history_lists_each_change_with_user_time_old_new_and_reason(
    client, users, randomized, operative_url
):
    change(
        client,
        operative_url,
        version=1,
        reason="Anaesthetic chart re-read",
        blood_loss_ml="650",
    )
    client.force_login(users["investigator"])
    change(
        client,
        operative_url,
        version=2,
        reason="Theatre log: longer operation",
        blood_loss_ml="650",
        duration_min="120",
    )
    history_url = reverse("crf:single_history", args=[randomized.study_id, "operative"])
    response = client.get(history_url)
    assert response.status_code == 200
    updates = history_rows(response)
    assert [
        (e.username, e.reason, [c for c in e.changes if c[0] in ITEMS]) for e in updates
    ] == [
        ("coordinator", "Anaesthetic chart re-read", [("blood_loss_ml", 400, 650)]),
        ("investigator", "Theatre log: longer operation", [("duration_min", 95, 120)]),
    ]
    assert all(e.at <= timezone.now() for e in updates)
    content = response.content.decode()
    for text in (
        "coordinator",
        "investigator",
        "Anaesthetic chart re-read",
        "Theatre log: longer operation",
        '<code>blood_loss_ml</code>: <span class="audit-old">400</span> → '
        '<span class="audit-new">650</span>',
        '<code>duration_min</code>: <span class="audit-old">95</span> → '
        '<span class="audit-new">120</span>',
    ):
        assert text in content
    # The time is shown in the site's zone, to the second.
    local = timezone.localtime(updates[1].at, timezone=ZoneInfo("America/Toronto"))
    assert local.strftime("%Y-%m-%d %H:%M:%S") in content


@pytest.mark.django_db
def test_history_page_queries_do_not_grow_with_the_history(
    client, users, randomized, operative_url
):
    history_url = reverse("crf:single_history", args=[randomized.study_id, "operative"])
    with CaptureQueriesContext(connection) as short:
        client.get(history_url)
    for version, loss in enumerate(range(500, 1000, 100), start=1):
        change(
            client, operative_url, version=version, reason="re-read", blood_loss_ml=loss
        )
    with CaptureQueriesContext(connection) as long:
        response = client.get(history_url)
    assert len(history_rows(response)) == 5
    assert len(long) == len(short)
    assert Operative.objects.get().version == 6

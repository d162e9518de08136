"""Signing and locking several forms at once (issue 15): one password entry
for all of a participant's complete forms, a participant's or one visit's
forms across a site locked together; scope and bad input."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from crf.forms import services
from crf.models import (
    AdverseEvent,
    Baseline,
    FollowUp,
    FormStatus,
    Operative,
)
from crf.schedule.visits import site_today
from perform import roles
from perform.audit_trail import audit_trail
from tests.crf.bulk import form_kwargs, participants_add
from tests.factories import user_with_role

DAY = datetime.timedelta(days=1)
TODAY = site_today("America/Toronto")
SIGNED_REASON = "Signed by the investigator"


@pytest.fixture
def participant(users, site_a):
    """A randomized participant at site A with a complete baseline, operative
    and 2-week follow-up, and a draft adverse event."""
    (participant,) = participants_add(site_a, 1, actor=users["coordinator"])
    actor = users["coordinator"]
    Baseline.objects.create(**form_kwargs(participant, actor, ecog=1))
    Operative.objects.create(
        **form_kwargs(participant, actor, surgery_date=TODAY - 20 * DAY)
    )
    FollowUp.objects.create(
        **form_kwargs(participant, actor, visit="2w", visit_date=TODAY - 5 * DAY)
    )
    AdverseEvent.objects.create(
        **form_kwargs(participant, actor, status=FormStatus.DRAFT, term="Fall")
    )
    return participant


def sign_url(participant):
    return reverse("crf:participant_sign", args=[participant.study_id])


def lock_url(participant):
    return reverse("crf:participant_lock", args=[participant.study_id])


def statuses(participant):
    return {
        "baseline": Baseline.objects.get(participant=participant).status,
        "operative": Operative.objects.get(participant=participant).status,
        "follow-up": FollowUp.objects.get(participant=participant).status,
        "adverse-event": AdverseEvent.objects.get(participant=participant).status,
    }


def listed_tokens(response):
    return [entry.token for entry, _ticked in response.context["rows"]]


@pytest.mark.django_db
def test_one_password_signs_every_complete_form_each_signature_audited(
    client, users, participant, password
):
    client.force_login(users["investigator"])
    page = client.get(sign_url(participant))
    rows = page.context["rows"]
    # Complete forms only, in trial order, all ticked by default.
    assert [entry.spec.key for entry, _ in rows] == [
        "baseline",
        "operative",
        "follow-up",
    ]
    assert all(ticked for _, ticked in rows)
    assert page.content.count(b'type="checkbox" name="forms"') == 3
    assert page.content.count(b" checked>") == 3

    response = client.post(
        sign_url(participant), {"forms": listed_tokens(page), "password": password}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "crf:participant_forms", args=[participant.study_id]
    )
    assert statuses(participant) == {
        "baseline": FormStatus.SIGNED,
        "operative": FormStatus.SIGNED,
        "follow-up": FormStatus.SIGNED,
        "adverse-event": FormStatus.DRAFT,
    }
    for model in (Baseline, Operative, FollowUp):
        form = model.objects.get(participant=participant)
        assert form.signed_by == users["investigator"]
        (signature,) = [
            e
            for e in audit_trail(participant=form.participant, record=form)
            if e.reason == SIGNED_REASON
        ]
        assert signature.username == "investigator"


@pytest.mark.django_db
def test_a_wrong_password_signs_nothing_and_says_so(client, users, participant):
    client.force_login(users["investigator"])
    tokens = listed_tokens(client.get(sign_url(participant)))
    response = client.post(
        sign_url(participant), {"forms": tokens, "password": "not-my-password"}
    )
    assert response.status_code == 200
    assert "The password is not correct; no form is signed." in (
        response.content.decode()
    )
    assert b'id="error-summary"' in response.content
    assert FormStatus.SIGNED not in statuses(participant).values()


@pytest.mark.django_db
def test_a_draft_is_never_signed_even_when_posted(client, users, participant, password):
    draft = AdverseEvent.objects.get(participant=participant)
    client.force_login(users["investigator"])
    tokens = listed_tokens(client.get(sign_url(participant)))
    assert not [t for t in tokens if t.startswith("adverse-event:")]
    response = client.post(
        sign_url(participant),
        {
            "forms": [*tokens, f"adverse-event:{draft.pk}:{draft.version}"],
            "password": password,
        },
    )
    assert response.status_code == 200
    assert "Only a complete form can be signed. Nothing was signed." in (
        response.content.decode()
    )
    assert FormStatus.SIGNED not in statuses(participant).values()


@pytest.mark.django_db
def test_a_form_changed_since_the_page_was_shown_is_refused(
    client, users, participant, password
):
    client.force_login(users["investigator"])
    tokens = listed_tokens(client.get(sign_url(participant)))
    Operative.objects.filter(participant=participant).update(version=2)  # a save
    response = client.post(
        sign_url(participant), {"forms": tokens, "password": password}
    )
    assert response.status_code == 200
    assert "Changed since this page was shown: Operative." in (
        response.content.decode()
    )
    assert FormStatus.SIGNED not in statuses(participant).values()
    # The page lists the form as it is now: signing again works.
    tokens = listed_tokens(response)
    assert f"operative:{Operative.objects.get().pk}:2" in tokens
    response = client.post(
        sign_url(participant), {"forms": tokens, "password": password}
    )
    assert response.status_code == 302


@pytest.mark.django_db
def test_only_the_ticked_forms_are_signed(client, users, participant, password):
    client.force_login(users["investigator"])
    tokens = listed_tokens(client.get(sign_url(participant)))
    client.post(
        sign_url(participant),
        {
            "forms": [t for t in tokens if t.startswith("baseline:")],
            "password": password,
        },
    )
    assert statuses(participant)["baseline"] == FormStatus.SIGNED
    assert statuses(participant)["operative"] == FormStatus.COMPLETE
    response = client.post(sign_url(participant), {"password": password})
    assert response.status_code == 200
    assert response.context["form"].errors["forms"] == [
        "Tick at least one form to sign."
    ]


@pytest.mark.django_db
def test_another_sites_participant_is_not_found(
    client, users, site_b, participant, password
):
    investigator_b = user_with_role(
        roles.SITE_INVESTIGATOR, username="investigator_b", sites=[site_b]
    )
    client.force_login(investigator_b)
    assert client.get(sign_url(participant)).status_code == 404
    baseline = Baseline.objects.get(participant=participant)
    response = client.post(
        sign_url(participant),
        {"forms": [f"baseline:{baseline.pk}:1"], "password": password},
    )
    assert response.status_code == 404
    assert FormStatus.SIGNED not in statuses(participant).values()


@pytest.mark.django_db
def test_the_forms_hub_links_to_bulk_sign_and_lock_by_role(client, users, participant):
    hub = reverse("crf:participant_forms", args=[participant.study_id])
    for role, sign, lock in [
        ("investigator", True, False),
        ("coordinator", False, False),
        ("datamanager", False, True),
    ]:
        client.force_login(users[role])
        page = client.get(hub).content.decode()
        assert (sign_url(participant) in page) is sign, role
        assert (lock_url(participant) in page) is lock, role


@pytest.mark.django_db
def test_lock_all_locks_a_participants_complete_forms_only(client, users, participant):
    Operative.objects.filter(participant=participant).update(status=FormStatus.SIGNED)
    client.force_login(users["datamanager"])
    page = client.get(lock_url(participant))
    assert [entry.spec.key for entry, _ in page.context["rows"]] == [
        "baseline",
        "operative",
        "follow-up",
    ]
    response = client.post(lock_url(participant), {"forms": listed_tokens(page)})
    assert response.status_code == 302
    for model in (Baseline, Operative, FollowUp):
        form = model.objects.get(participant=participant)
        assert form.locked and form.locked_by == users["datamanager"]
        assert [
            e
            for e in audit_trail(participant=form.participant, record=form)
            if e.action == "update"
        ]
    assert not AdverseEvent.objects.get(participant=participant).locked


# --------------------------------------------------------------- visit lock


@pytest.fixture
def follow_ups(users, site_a, site_b):
    """2-week follow-ups: at site A two complete (one signed), one draft, one
    already locked; a complete 6-week one at site A; a complete one at site B."""
    actor = users["coordinator"]
    a = participants_add(site_a, 5, actor=actor)
    (b,) = participants_add(site_b, 1, actor=users["coordinator2"])

    def follow_up(participant, visit="2w", **fields):
        return FollowUp.objects.create(
            **form_kwargs(participant, actor, visit=visit, **fields)
        )

    return {
        "complete": follow_up(a[0]),
        "signed": follow_up(a[1], status=FormStatus.SIGNED),
        "draft": follow_up(a[2], status=FormStatus.DRAFT),
        "locked": follow_up(a[3], locked=True),
        "other_visit": follow_up(a[4], visit="6w"),
        "other_site": follow_up(b),
    }


VISIT_LOCK = reverse("crf:visit_forms_lock")


@pytest.mark.django_db
def test_visit_lock_counts_and_locks_only_that_sites_complete_forms_of_the_visit(
    client, users, site_a, follow_ups
):
    client.force_login(users["datamanager"])
    page = client.get(VISIT_LOCK, {"site": site_a.code, "visit": "2w"})
    counted = page.context["forms_to_lock"]
    assert {f.pk for f in counted} == {
        follow_ups["complete"].pk,
        follow_ups["signed"].pk,
    }
    assert b'data-count="2"' in page.content
    assert b"Lock these 2 forms" in page.content
    shown = page.context["confirm"].initial["shown"]

    response = client.post(
        VISIT_LOCK, {"site": site_a.code, "visit": "2w", "shown": shown}
    )
    assert response.status_code == 302
    locked = {
        name: FollowUp.objects.get(pk=form.pk).locked
        for name, form in follow_ups.items()
    }
    assert locked == {
        "complete": True,
        "signed": True,
        "draft": False,
        "locked": True,  # as before
        "other_visit": False,
        "other_site": False,
    }


@pytest.mark.django_db
def test_visit_lock_refuses_forms_changed_after_the_count(
    client, users, site_a, follow_ups
):
    client.force_login(users["datamanager"])
    page = client.get(VISIT_LOCK, {"site": site_a.code, "visit": "2w"})
    shown = page.context["confirm"].initial["shown"]
    FollowUp.objects.filter(pk=follow_ups["complete"].pk).update(version=2)
    response = client.post(
        VISIT_LOCK, {"site": site_a.code, "visit": "2w", "shown": shown}
    )
    assert response.status_code == 200
    assert "Changed since this page was shown" in response.context["refusal"]
    assert not FollowUp.objects.filter(locked=True).exclude(pk=follow_ups["locked"].pk)
    # Another site's form smuggled into the list: not found, nothing locked.
    other = follow_ups["other_site"]
    response = client.post(
        VISIT_LOCK,
        {"site": site_a.code, "visit": "2w", "shown": f"{other.pk}:{other.version}"},
    )
    assert response.status_code == 404
    assert not FollowUp.objects.get(pk=other.pk).locked


@pytest.mark.django_db
def test_visit_lock_rejects_an_unknown_site_or_visit(client, users, follow_ups):
    client.force_login(users["datamanager"])
    response = client.get(VISIT_LOCK, {"site": "XXX", "visit": "99y"})
    assert response.status_code == 200
    assert set(response.context["choice"].errors) == {"site", "visit"}
    assert response.context["confirm"] is None


@pytest.mark.django_db
def test_the_services_refuse_other_roles_and_other_sites(
    users, site_b, participant, password
):
    forms = [
        (form, form.version)
        for form in Baseline.objects.filter(participant=participant)
    ]
    with pytest.raises(PermissionDenied):
        services.forms_sign(actor=users["coordinator"], forms=forms, password=password)
    with pytest.raises(PermissionDenied):
        services.forms_lock(actor=users["investigator"], forms=forms)
    investigator_b = user_with_role(
        roles.SITE_INVESTIGATOR, username="investigator_b", sites=[site_b]
    )
    with pytest.raises(PermissionDenied):
        services.forms_sign(actor=investigator_b, forms=forms, password=password)
    assert FormStatus.SIGNED not in statuses(participant).values()
    assert not Baseline.objects.get(participant=participant).locked


@pytest.mark.django_db
def test_a_token_naming_no_form_of_the_participant_signs_nothing(
    client, users, site_a, participant, password
):
    (other,) = participants_add(site_a, 1, actor=users["coordinator"])
    theirs = Baseline.objects.create(**form_kwargs(other, users["coordinator"]))
    client.force_login(users["investigator"])
    tokens = listed_tokens(client.get(sign_url(participant)))
    for bad in (f"baseline:{theirs.pk}:1", "no-such-form:1:1", "baseline:x:1"):
        response = client.post(
            sign_url(participant), {"forms": [*tokens, bad], "password": password}
        )
        assert response.status_code == 200
        assert response.context["form"].errors["forms"] == [
            "A ticked form is not one of this participant's."
        ]
    assert FormStatus.SIGNED not in statuses(participant).values()
    assert Baseline.objects.get(pk=theirs.pk).status == FormStatus.COMPLETE

"""Separation of duties (PROTOCOL §2, §12): nobody changes their own roles, the
unblinded roles and staff/superuser status come from the system owner only,
through every door (role page, Django admin, API), and every grant and
revocation is an audited row."""

import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from infrastructure.models import OutboundEmail
from infrastructure.outbox import Email, emails_queue
from perform import role_admin, roles
from perform.models import RoleChange, User, UserGroupEvent
from tests.factories import UserFactory
from tests.test_role_url_matrix import closed_report_ready

ESCALATIONS = [
    roles.STATISTICIAN,
    roles.DSMB_MEMBER,
    role_admin.STAFF_STATUS,
    role_admin.SYSTEM_OWNER,
]


@pytest.fixture
def owner(users):
    return users["owner"]


@pytest.fixture
def closed_report(db):
    return closed_report_ready()


def state(user: User) -> tuple:
    """Everything that decides what ``user`` may see."""
    user = User.objects.get(pk=user.pk)
    return (
        sorted(user.groups.values_list("name", flat=True)),
        sorted(user.user_permissions.values_list("codename", flat=True)),
        user.is_staff,
        user.is_superuser,
        sorted(user.sites.values_list("code", flat=True)),
    )


def report_urls(report):
    return [
        reverse("outcomes:report_detail", args=[report.pk]),
        reverse("outcomes:report_pdf", args=[report.pk]),
    ]


def role_page_post(client, actor, target, role, *, action="grant", site=""):
    client.force_login(actor)
    return client.post(
        reverse("role_account", args=[target.pk]),
        {"action": action, "role": role, "site": site, "reason": "I want to see"},
    )


def admin_change_post(client, actor, target):
    """The Django admin's change form, posted with every escalation ticked."""
    client.force_login(actor)
    statistician = Group.objects.get(name=roles.STATISTICIAN)
    dsmb = Group.objects.get(name=roles.DSMB_MEMBER)
    closed = Permission.objects.get(codename="view_closed_report")
    return client.post(
        reverse("admin:perform_user_change", args=[target.pk]),
        {
            "username": target.username,
            "email": target.email,
            "first_name": "",
            "last_name": "",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "groups": [statistician.pk, dsmb.pk],
            "user_permissions": [closed.pk],
            "receives_visit_reminders": "on",
            "date_joined_0": "2025-01-01",
            "date_joined_1": "00:00:00",
        },
    )


@pytest.mark.django_db
@pytest.mark.parametrize("actor_name", ["datamanager", "admin"])
@pytest.mark.parametrize("target_name", ["self", "datamanager", "admin"])
def test_nobody_but_the_owner_grants_unblinded_roles_or_status(
    client, users, closed_report, actor_name, target_name
):
    actor = users[actor_name]
    target = actor if target_name == "self" else users[target_name]
    before = state(target)
    events_before = UserGroupEvent.objects.filter(user_id=target.pk).count()
    # The role page: each escalation refused with a message, nothing written.
    for role in ESCALATIONS:
        response = role_page_post(client, actor, target, role)
        assert response.status_code in {400, 403}, (role, response.status_code)
        if response.status_code == 400:
            assert "nothing was changed" in response.content.decode().lower()
    # The Django admin's user form: refused (never their own; a staff account
    # is the system owner's to change).
    response = admin_change_post(client, actor, target)
    assert response.status_code == 403
    # The role groups themselves cannot be given a permission in the admin.
    dm_group = Group.objects.get(name=roles.DATA_MANAGER)
    closed = Permission.objects.get(codename="view_closed_report")
    response = client.post(
        reverse("admin:auth_group_change", args=[dm_group.pk]),
        {"name": dm_group.name, "permissions": [closed.pk]},
    )
    assert response.status_code == 403
    assert not dm_group.permissions.filter(pk=closed.pk).exists()
    # The API has no way to change an account at all.
    for method in ("post", "patch", "put"):
        response = getattr(client, method)(
            f"/api/v1/users/{target.pk}/",
            {"groups": [roles.STATISTICIAN], "is_superuser": True},
            content_type="application/json",
        )
        assert response.status_code in {404, 405}
        assert response["Content-Type"].startswith("application/json")

    assert state(target) == before
    assert not RoleChange.objects.exists()
    assert UserGroupEvent.objects.filter(user_id=target.pk).count() == events_before
    for url in report_urls(closed_report):
        client.force_login(actor)
        assert client.get(url).status_code == 404
        client.force_login(target)
        assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_the_owners_grant_works_is_recorded_and_unblinds(
    client, users, owner, closed_report
):
    datamanager = users["datamanager"]
    client.force_login(datamanager)
    assert client.get(report_urls(closed_report)[0]).status_code == 404

    client.force_login(owner)
    response = client.post(
        reverse("role_account", args=[datamanager.pk]),
        {
            "action": "grant",
            "role": roles.STATISTICIAN,
            "reason": "Covers the statistician's leave (delegation log 14)",
        },
    )
    assert response.status_code == 302
    assert roles.STATISTICIAN in state(datamanager)[0]
    change = RoleChange.objects.get()
    assert (change.actor, change.user, change.action, change.role) == (
        owner,
        datamanager,
        "grant",
        roles.STATISTICIAN,
    )
    assert change.reason == "Covers the statistician's leave (delegation log 14)"
    event = UserGroupEvent.objects.get(
        user_id=datamanager.pk,
        group__name=roles.STATISTICIAN,
        pgh_label="role.add",
    )
    assert event.pgh_context.metadata["user"] == owner.pk
    assert event.pgh_context.metadata["reason"] == change.reason

    client.force_login(datamanager)
    assert client.get(report_urls(closed_report)[0]).status_code == 200

    # The history page lists it, for those who keep the roles.
    for viewer in (owner, users["admin"], datamanager):
        client.force_login(viewer)
        page = client.get(reverse("role_history")).content.decode()
        assert "Covers the statistician" in page and roles.STATISTICIAN in page

    # And the revocation is a row of its own.
    client.force_login(owner)
    client.post(
        reverse("role_account", args=[datamanager.pk]),
        {"action": "revoke", "role": roles.STATISTICIAN, "reason": "Leave over"},
    )
    assert roles.STATISTICIAN not in state(datamanager)[0]
    assert list(RoleChange.objects.values_list("action", flat=True)) == [
        "revoke",
        "grant",
    ]


@pytest.mark.django_db
def test_the_owner_cannot_change_its_own_roles_and_sees_no_trial_data(
    client, owner, closed_report, site_a
):
    before = state(owner)
    for role in [*ESCALATIONS, roles.DATA_MANAGER]:
        response = role_page_post(client, owner, owner, role)
        assert response.status_code == 400
    assert state(owner) == before
    with pytest.raises(role_admin.RoleChangeRefused, match="their own"):
        role_admin.role_change(
            actor=owner,
            user=owner,
            action="grant",
            role=roles.STATISTICIAN,
            reason="x",
        )
    # A superuser here is not "every permission": no trial data, no report.
    client.force_login(owner)
    assert client.get(report_urls(closed_report)[0]).status_code == 404
    assert client.get(reverse("participant_list")).status_code == 403
    assert client.get(reverse("randomization:list_index")).status_code == 403
    assert not owner.has_perm("outcomes.view_closed_report")
    assert owner.has_perm("perform.manage_roles")


@pytest.mark.django_db
def test_the_data_manager_gives_site_staff_their_roles_and_sites(
    client, users, site_a, site_b
):
    datamanager = users["datamanager"]
    newcomer = UserFactory(username="newcomer")
    for role, site in [
        (roles.SITE_COORDINATOR, ""),
        (role_admin.SITE_ACCESS, site_b.pk),
    ]:
        response = role_page_post(client, datamanager, newcomer, role, site=site)
        assert response.status_code == 302, response.content.decode()[:2000]
    assert state(newcomer)[0] == [roles.SITE_COORDINATOR]
    assert state(newcomer)[4] == ["HAM"]
    again = role_page_post(client, datamanager, newcomer, roles.SITE_COORDINATOR)
    assert again.status_code == 400
    # Said once, above the form, not twice.
    assert again.content.decode().count("already holds") == 1
    assert RoleChange.objects.filter(actor=datamanager, user=newcomer).count() == 2
    assert RoleChange.objects.get(site=site_b).role == role_admin.SITE_ACCESS

    # A blinded Methods Centre role too; after that the account is privileged
    # and only the system owner changes it.
    response = role_page_post(client, datamanager, newcomer, roles.RANDOMIZER)
    assert response.status_code == 302
    response = role_page_post(
        client, datamanager, newcomer, roles.SITE_COORDINATOR, action="revoke"
    )
    assert response.status_code == 400
    assert "only the system owner" in response.content.decode()

    # Site staff cannot grant anything.
    coordinator = users["coordinator"]
    response = role_page_post(client, coordinator, users["coordinator2"], "x")
    assert response.status_code == 403


@pytest.mark.django_db
def test_a_site_access_grant_needs_a_site_and_a_reason(client, users):
    datamanager = users["datamanager"]
    newcomer = UserFactory(username="newcomer")
    client.force_login(datamanager)
    response = client.post(
        reverse("role_account", args=[newcomer.pk]),
        {"action": "grant", "role": role_admin.SITE_ACCESS, "reason": ""},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose the site." in page
    assert "This field is required." in page
    assert not RoleChange.objects.exists()


@pytest.mark.django_db
def test_privileged_accounts_cannot_be_taken_over_in_the_admin(client, users, owner):
    """Changing a statistician's e-mail (then resetting its password) would
    take the account over: the data manager and the administrator may not
    edit such accounts, nor set anyone's password, nor delete any account."""
    statistician = users["statistician"]
    for actor in (users["datamanager"], users["admin"]):
        client.force_login(actor)
        response = client.post(
            reverse("admin:perform_user_change", args=[statistician.pk]),
            {"username": statistician.username, "email": "mine@example.org"},
        )
        assert response.status_code == 403
        response = client.post(
            f"/admin/perform/user/{users['coordinator'].pk}/password/",
            {"password1": "Take-over-123456", "password2": "Take-over-123456"},
        )
        assert response.status_code == 403
        response = client.post(
            reverse("admin:perform_user_delete", args=[users["coordinator"].pk]),
            {"post": "yes"},
        )
        assert response.status_code == 403
    statistician.refresh_from_db()
    assert statistician.email == "statistician@example.org"
    assert User.objects.filter(pk=users["coordinator"].pk).exists()

    # The data manager may still edit a coordinator's account details.
    client.force_login(users["datamanager"])
    response = client.get(
        reverse("admin:perform_user_change", args=[users["coordinator"].pk])
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="groups"' not in page and 'name="is_superuser"' not in page
    assert "Roles, sites and history" in page


def test_grantable_roles_follow_the_rule(db, users, owner):
    newcomer = UserFactory(username="newcomer")
    by_dm = role_admin.grantable_roles(actor=users["datamanager"], user=newcomer)
    assert set(by_dm) == {
        roles.SITE_COORDINATOR,
        roles.SITE_INVESTIGATOR,
        roles.DATA_MANAGER,
        roles.RANDOMIZER,
        role_admin.SITE_ACCESS,
        role_admin.SAFETY_CONTACT,
    }
    assert role_admin.grantable_roles(actor=users["admin"], user=newcomer) == []
    assert role_admin.grantable_roles(actor=users["datamanager"], user=owner) == []
    by_owner = role_admin.grantable_roles(actor=owner, user=newcomer)
    assert set(by_owner) >= {*ESCALATIONS, roles.ADMINISTRATOR}
    assert role_admin.grantable_roles(actor=owner, user=owner) == []


@pytest.mark.django_db
def test_a_new_account_gets_a_link_and_nobody_knows_its_password(
    client, users, monkeypatch, django_capture_on_commit_callbacks
):
    from django.core import mail

    from config.celery_app import app

    monkeypatch.setattr(app.conf, "task_always_eager", True)
    client.force_login(users["datamanager"])
    page = client.get(reverse("admin:perform_user_add")).content.decode()
    assert 'name="password1"' not in page and 'name="usable_password"' not in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:perform_user_add"),
            {
                "username": "newcoord",
                "first_name": "Nora",
                "last_name": "Lee",
                "email": "nora@example.org",
                "_save": "Save",
            },
        )
    assert response.status_code == 302, response.content.decode()[:3000]
    user = User.objects.get(username="newcoord")
    assert user.has_usable_password()
    assert not user.check_password("")
    [message] = [m for m in mail.outbox if m.to == ["nora@example.org"]]
    assert "Choose your password" in message.body
    assert "/accounts/reset/" in message.body
    # Through the outbox: on the e-mail log, the link erased once sent.
    row = OutboundEmail.objects.get(kind=role_admin.ACCOUNT_CREATED_KIND)
    assert re.fullmatch(rf"account-created:{user.pk}:[0-9a-f]{{32}}", row.key)
    assert (row.to, row.status) == (["nora@example.org"], "sent")
    assert row.holds_credential and "/accounts/reset/" not in row.body_text
    # Nobody sets another person's password, the system owner included.
    for actor in (users["datamanager"], users["owner"]):
        client.force_login(actor)
        response = client.post(
            f"/admin/perform/user/{user.pk}/password/",
            {"password1": "Take-over-123456", "password2": "Take-over-123456"},
        )
        assert response.status_code == 403
    user.refresh_from_db()
    assert not user.check_password("Take-over-123456")


@pytest.mark.django_db
def test_each_password_link_asked_for_is_an_outbox_row_of_its_own(client, users):
    """Asked for twice on the reset page and once by the admin's action: three
    links, none dropped as a repeat (each request mints its own token)."""
    coordinator = users["coordinator"]
    for _ in range(2):
        response = client.post(reverse("password_reset"), {"email": coordinator.email})
        assert response.status_code == 302
    role_admin.account_password_link_send(user=coordinator, new_account=False)
    rows = list(OutboundEmail.objects.filter(kind=role_admin.PASSWORD_RESET_KIND))
    assert len({row.key for row in rows}) == 3
    for row in rows:
        assert re.fullmatch(rf"password-reset:{coordinator.pk}:[0-9a-f]{{32}}", row.key)
        assert row.to == [coordinator.email]
        assert row.subject == "PERFORM trial platform: reset your password"
        assert "http://testserver" not in row.body_text  # SITE_URL, not Host
        assert "/accounts/reset/" in row.body_text
        assert row.holds_credential and row.status == "pending"

    # On the e-mail log with their keys, and no link there.
    client.force_login(users["datamanager"])
    page = client.get("/emails/", {"kind": "password_reset"}).content.decode()
    for row in rows:
        assert f'data-key="{row.key}"' in page
    assert "/accounts/reset/" not in page


@pytest.mark.django_db
def test_nobody_reads_a_pending_password_link_in_the_admin(client, users):
    """A data manager (staff, allowed to read the outbox) who asked for the
    system owner's reset would otherwise find the owner's link in the admin."""
    client.post(reverse("password_reset"), {"email": users["owner"].email})
    link_row = OutboundEmail.objects.get(kind=role_admin.PASSWORD_RESET_KIND)
    assert "/accounts/reset/" in link_row.body_text
    ids = emails_queue(
        [
            Email(
                key="notice:1",
                kind="test",
                to=["someone@example.org"],
                subject="A notice",
                body_text="Body anyone on the log may read",
            )
        ]
    )
    client.force_login(users["datamanager"])
    change = "admin:infrastructure_outboundemail_change"
    page = client.get(reverse(change, args=[link_row.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert link_row.key in html
    assert "/accounts/reset/" not in html
    # The positive control: other e-mails' bodies are shown.
    other = client.get(reverse(change, args=[ids["notice:1"]])).content.decode()
    assert "Body anyone on the log may read" in other


@pytest.mark.django_db
def test_only_the_owner_changes_an_email_and_the_old_address_is_told(client, users):
    coordinator = users["coordinator"]
    base = {
        "username": coordinator.username,
        "first_name": "Priya",
        "last_name": "Raman",
        "email": "thief@example.org",
        "is_active": "on",
        "receives_visit_reminders": "on",
    }
    client.force_login(users["datamanager"])
    client.post(reverse("admin:perform_user_change", args=[coordinator.pk]), base)
    coordinator.refresh_from_db()
    assert coordinator.email == "coordinator@example.org"
    assert coordinator.first_name == "Priya"  # the rest of the form was saved

    client.force_login(users["owner"])
    response = client.post(
        reverse("admin:perform_user_change", args=[coordinator.pk]),
        {**base, "email": "priya.raman@example.org"},
    )
    assert response.status_code == 302
    coordinator.refresh_from_db()
    assert coordinator.email == "priya.raman@example.org"
    notice = OutboundEmail.objects.get(kind="account_email_changed")
    assert notice.to == ["coordinator@example.org"]
    assert "priya.raman@example.org" in notice.body_text


@pytest.mark.django_db
def test_the_safety_contact_flag_is_granted_with_a_reason_not_ticked(
    client, users, owner
):
    statistician = users["statistician"]
    client.force_login(users["admin"])
    client.post(
        reverse("admin:perform_user_change", args=[users["coordinator"].pk]),
        {
            "username": "coordinator",
            "email": "coordinator@example.org",
            "is_active": "on",
            "safety_contact": "on",
        },
    )
    assert not User.objects.get(username="coordinator").safety_contact
    response = role_page_post(client, owner, statistician, role_admin.SAFETY_CONTACT)
    assert response.status_code == 302
    statistician.refresh_from_db()
    assert statistician.safety_contact
    assert RoleChange.objects.get(user=statistician).role == role_admin.SAFETY_CONTACT

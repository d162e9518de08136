"""PROTOCOL §2 roles exist as groups with exactly the permissions of perform.roles."""

import pytest
from django.contrib.auth.models import Group

from perform import roles
from perform.selectors import participants_for, sites_for
from tests.factories import user_with_role


@pytest.mark.django_db
def test_every_role_group_holds_exactly_its_listed_permissions(reference_data):
    for role, expected in roles.role_permissions().items():
        group = Group.objects.get(name=role)
        held = {
            f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()
        }
        assert held == set(expected), role


@pytest.mark.django_db
def test_only_methods_centre_roles_see_every_site(users, site_a, site_b):
    everywhere = {
        code for code, user in users.items() if set(sites_for(user)) == {site_a, site_b}
    }
    assert everywhere == {"datamanager", "randomizer", "statistician"}
    assert list(sites_for(users["coordinator"])) == [site_a]
    assert list(sites_for(users["dsmb"])) == []
    assert list(sites_for(users["admin"])) == []


@pytest.mark.django_db
def test_a_coordinator_linked_to_two_sites_sees_both(users, site_a, site_b, screen):
    at_a = screen(users["coordinator"], site_a)
    at_b = screen(users["coordinator2"], site_b)
    both = user_with_role(
        roles.SITE_COORDINATOR, username="both", sites=[site_a, site_b]
    )
    assert set(participants_for(both)) == {at_a, at_b}
    assert set(participants_for(users["coordinator"])) == {at_a}


@pytest.mark.django_db
def test_deactivated_user_sees_nothing(users, site_a, screen):
    screen(users["coordinator"], site_a)
    users["datamanager"].is_active = False
    assert participants_for(users["datamanager"]).count() == 0

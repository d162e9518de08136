"""factory_boy factories for the trial core."""

import datetime

import factory
from django.contrib.auth.models import Group

from perform import roles
from perform.models import Site, SiteMembership, User

PASSWORD = "correct-horse-battery-9"


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("code",)

    code = factory.Sequence(
        lambda n: "".join(chr(65 + (n // 26**i) % 26) for i in (2, 1, 0))
    )
    name = factory.LazyAttribute(lambda o: f"{o.code} University Hospital")
    country = "Canada"
    time_zone = "America/Toronto"
    activation_date = datetime.date(2025, 2, 1)
    target_enrolment = 20
    is_active = True


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.groups.add(Group.objects.get(name=extracted))
            obj.save()

    @factory.post_generation
    def sites(obj, create, extracted, **kwargs):
        if create and extracted:
            for site in extracted:
                SiteMembership.objects.get_or_create(user=obj, site=site)
        if create:
            obj.save()


def user_with_role(role: str, *, username: str, sites=()) -> User:
    return UserFactory(username=username, role=role, sites=list(sites))


ALL_ROLES = [
    roles.SITE_COORDINATOR,
    roles.SITE_INVESTIGATOR,
    roles.DATA_MANAGER,
    roles.RANDOMIZER,
    roles.STATISTICIAN,
    roles.DSMB_MEMBER,
    roles.ADMINISTRATOR,
]


_API_TOKENS: dict[tuple[int, str], str] = {}


def api_client_for(user: User, *, client: str = "tests"):
    """A DRF test client sending an API token of ``user`` (issued once per
    user and client within a test: a new one would revoke the first)."""
    from knox.crypto import hash_token
    from rest_framework.test import APIClient

    from perform.api_tokens import api_token_issue
    from perform.models import ApiToken

    key = (user.pk, client)
    token = _API_TOKENS.get(key)
    if token is None or not ApiToken.objects.filter(digest=hash_token(token)).exists():
        _row, token = api_token_issue(user=user, client=client)
        _API_TOKENS[key] = token
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


def login_post_data(username: str, password: str) -> dict:
    """What the log-in page (django-two-factor-auth's wizard, password step)
    posts for ``username`` and ``password``."""
    return {
        "login_view-current_step": "auth",
        "auth-username": username,
        "auth-password": password,
    }

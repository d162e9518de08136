"""Demo sites and their staff.

Seeds the sites (fictitious academic centres from ``SITE_CATALOGUE``, each with
its share of the trial's target enrolment) and the demo user accounts: a named
coordinator for each of the first two sites, an investigator, the central roles
(data manager, randomizer, statistician, DSMB member, administrator) and one
coordinator per further site, with their groups, site memberships and the one
printed demo password. No random draw here.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import make_password

from demo.common import DemoSeedError
from perform import role_admin, roles
from perform.models import RoleChange, Site, User

DEFAULT_SITES = 8
DEFAULT_PASSWORD = "perform-demo-2025"  # noqa: S105 - printed demo password, by design


@dataclass(frozen=True)
class DemoSite:
    code: str
    name: str
    country: str
    time_zone: str
    activation_date: datetime.date
    size: int  # relative recruiting capacity; targets are scaled from it
    coordinator: tuple[str, str]  # first and last name of the site's coordinator
    is_active: bool = True


def _site(code, name, country, tz, activated, size, coordinator, active=True):
    return DemoSite(
        code=code,
        name=name,
        country=country,
        time_zone=tz,
        activation_date=datetime.date.fromisoformat(activated),
        size=size,
        coordinator=tuple(coordinator.split(" ", 1)),
        is_active=active,
    )


# Fictitious but real-looking academic centres, in order of activation.
# fmt: off
SITE_CATALOGUE: tuple[DemoSite, ...] = (
    _site("TOR", "Toronto University Hospital", "Canada", "America/Toronto",
          "2025-02-03", 24, "Priya Raman"),
    _site("BAL", "Baltimore Academic Medical Center", "United States",
          "America/New_York", "2025-02-24", 22, "Marcus Whitfield"),
    _site("HAM", "University Hospital Hamburg", "Germany", "Europe/Berlin",
          "2025-03-17", 20, "Katrin Vogel"),
    _site("LEI", "Leiden University Hospital", "Netherlands", "Europe/Amsterdam",
          "2025-04-07", 18, "Sanne de Vries"),
    _site("MIL", "Milan Orthopaedic Institute", "Italy", "Europe/Rome",
          "2025-05-05", 20, "Giulia Ferraro"),
    _site("VAN", "Vancouver Academic Hospital", "Canada", "America/Vancouver",
          "2025-06-02", 14, "Liam Chen"),
    _site("BOS", "Boston University Orthopaedic Center", "United States",
          "America/New_York", "2025-07-14", 20, "Rachel Goldberg"),
    _site("LON", "London Orthopaedic Hospital", "United Kingdom", "Europe/London",
          "2025-09-01", 16, "Amara Okafor", active=False),
    _site("AMS", "Amsterdam University Medical Centre", "Netherlands",
          "Europe/Amsterdam", "2025-09-22", 14, "Daan Bakker"),
    _site("MTL", "Montreal University Health Centre", "Canada", "America/Toronto",
          "2025-10-13", 14, "Emilie Gagnon"),
    _site("CHI", "Chicago Lakeside University Hospital", "United States",
          "America/Chicago", "2025-11-03", 16, "Denise Kowalski"),
    _site("MUN", "Munich University Hospital", "Germany", "Europe/Berlin",
          "2025-11-24", 16, "Florian Huber"),
    _site("OSL", "Oslo University Hospital", "Norway", "Europe/Oslo",
          "2025-12-15", 12, "Ingrid Solberg"),
    _site("STO", "Stockholm University Hospital", "Sweden", "Europe/Stockholm",
          "2026-01-12", 12, "Erik Lindqvist"),
    _site("ROC", "Rochester Academic Medical Center", "United States",
          "America/Chicago", "2026-02-02", 18, "Hannah Olson"),
    _site("BOL", "Bologna Orthopaedic Institute", "Italy", "Europe/Rome",
          "2026-02-23", 16, "Marco Ricci"),
    _site("VIE", "Vienna Medical University Hospital", "Austria", "Europe/Vienna",
          "2026-03-16", 12, "Theresa Gruber"),
    _site("CPH", "Copenhagen University Hospital", "Denmark", "Europe/Copenhagen",
          "2026-04-06", 10, "Mette Jensen"),
    _site("ZUR", "Zurich University Hospital", "Switzerland", "Europe/Zurich",
          "2026-04-27", 10, "Lukas Meier"),
    _site("HOU", "Houston Cancer Center", "United States", "America/Chicago",
          "2026-05-11", 16, "Carmen Alvarez"),
    _site("SEA", "Seattle University Medical Center", "United States",
          "America/Los_Angeles", "2026-05-25", 12, "Nathan Park"),
    _site("LYO", "Lyon University Hospital", "France", "Europe/Paris",
          "2026-06-08", 10, "Camille Laurent"),
    _site("CAL", "Calgary Foothills Academic Hospital", "Canada", "America/Edmonton",
          "2026-06-15", 10, "Owen MacLeod"),
    _site("BCN", "Barcelona University Hospital", "Spain", "Europe/Madrid",
          "2026-06-29", 10, "Laia Puig"),
)
# fmt: on


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    roles: tuple[str, ...]
    site_codes: tuple[str, ...] = ()
    is_staff: bool = False
    is_superuser: bool = False


def demo_users(site_catalogue: Iterable[DemoSite]) -> list[DemoUser]:
    """The demo accounts for the chosen sites (the first two get named logins)."""
    chosen = list(site_catalogue)
    first, second = chosen[0], chosen[1]
    # fmt: off
    users = [
        DemoUser("coordinator", *first.coordinator, (roles.SITE_COORDINATOR,),
                 (first.code,)),
        DemoUser("coordinator2", *second.coordinator, (roles.SITE_COORDINATOR,),
                 (second.code,)),
        DemoUser("investigator", "Jonathan", "Mercer", (roles.SITE_INVESTIGATOR,),
                 (first.code,)),
        DemoUser("datamanager", "Aisha", "Rahman", (roles.DATA_MANAGER,),
                 is_staff=True),
        DemoUser("randomizer", "Tomasz", "Nowak", (roles.RANDOMIZER,)),
        DemoUser("statistician", "Helen", "Brooks", (roles.STATISTICIAN,)),
        DemoUser("dsmb", "Robert", "Lindgren", (roles.DSMB_MEMBER,)),
        # Not a superuser: the administrator runs the admin but holds no
        # participant-level permission (perform/roles.py).
        DemoUser("admin", "Alex", "Morgan", (roles.ADMINISTRATOR,), is_staff=True),
        # The system owner: a superuser that grants the privileged roles (it
        # granted every other demo account's roles, see the role history) and
        # sees no trial data (perform/backends.py).
        DemoUser("owner", "Sam", "Okoye", (), is_staff=True, is_superuser=True),
    ]
    users += [
        DemoUser(f"coord_{site.code.lower()}", *site.coordinator,
                 (roles.SITE_COORDINATOR,), (site.code,))
        for site in chosen[2:]
    ]
    # fmt: on
    return users


def site_targets(sites: list[DemoSite], total: int) -> dict[str, int]:
    """Split the trial target over ``sites`` by size (largest remainder)."""
    size = sum(s.size for s in sites)
    exact = {s.code: total * s.size / size for s in sites}
    targets = {code: int(value) for code, value in exact.items()}
    leftover = total - sum(targets.values())
    for code in sorted(exact, key=lambda c: targets[c] - exact[c])[:leftover]:
        targets[code] += 1
    return targets


def _sites_create(chosen: list[DemoSite]) -> dict[str, Site]:
    targets = site_targets(chosen, settings.TRIAL["TARGET_ENROLMENT"])
    created = {}
    for demo_site in chosen:
        site = Site(
            code=demo_site.code,
            name=demo_site.name,
            country=demo_site.country,
            time_zone=demo_site.time_zone,
            activation_date=demo_site.activation_date,
            target_enrolment=targets[demo_site.code],
            is_active=True,  # recruitment pauses are applied after screening
        )
        site.full_clean()
        site.save()
        created[site.code] = site
    return created


def _users_create(specs, *, sites: dict[str, Site], password: str) -> dict[str, User]:
    taken = sorted(
        User.objects.filter(username__in=[u.username for u in specs]).values_list(
            "username", flat=True
        )
    )
    if taken:
        raise DemoSeedError(f"Demo usernames already in use: {', '.join(taken)}.")
    # One hash for the one (printed) demo password: hashing is slow by design.
    hashed = make_password(password)
    users = {}
    for spec in specs:
        # Only the system owner is made a superuser here (as createsuperuser
        # would); every other role, site and status is granted by it, through
        # the role service, so the role history shows who granted what.
        user = User(
            username=spec.username,
            first_name=spec.first_name,
            last_name=spec.last_name,
            email=f"{spec.username}@example.org",
            is_staff=spec.is_superuser,
            is_superuser=spec.is_superuser,
        )
        user.password = hashed
        user.save()
        users[spec.username] = user
    owners = [users[spec.username] for spec in specs if spec.is_superuser]
    if not owners:
        raise DemoSeedError("The demo needs a system owner to grant its roles.")
    owner = owners[0]
    for spec in specs:
        if spec.is_superuser:
            continue
        user = users[spec.username]
        grants = [(role, None) for role in spec.roles]
        grants += [(role_admin.SITE_ACCESS, sites[code]) for code in spec.site_codes]
        if spec.is_staff:
            grants.append((role_admin.STAFF_STATUS, None))
        for role, site in grants:
            role_admin.role_change(
                actor=owner,
                user=user,
                action=RoleChange.Action.GRANT,
                role=role,
                site=site,
                reason="Demo set-up: delegation log of the trial's start-up.",
            )
    return users

"""PROTOCOL §2 roles as Django groups, and the permissions each one holds.

This table is the single statement of who may do what. A data migration
creates the groups; ``roles_sync`` (run after every ``migrate``) makes each
group's permissions equal to this table, so later apps add their permissions
here and nowhere else.
"""

SITE_COORDINATOR = "Site coordinator"
SITE_INVESTIGATOR = "Site investigator"
DATA_MANAGER = "Data manager"
RANDOMIZER = "Randomizer"
STATISTICIAN = "Statistician"
DSMB_MEMBER = "DSMB member"
ADMINISTRATOR = "Administrator"

_SITE_STAFF = [
    "perform.view_site",
    "perform.view_participant",
    "perform.screen_participant",
    "randomization.view_allocation",
    "crf.view_forms",
    "crf.enter_forms",
]
_METHODS_CENTRE = [
    "perform.view_site",
    "perform.view_participant",
    "perform.view_all_sites",
    "perform.view_screening_summary",
    "crf.view_forms",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    SITE_COORDINATOR: [*_SITE_STAFF],
    SITE_INVESTIGATOR: [*_SITE_STAFF, "crf.sign_forms"],
    DATA_MANAGER: [
        *_METHODS_CENTRE,
        "perform.add_site",
        "perform.change_site",
        "perform.view_user",
        "perform.add_user",
        "perform.change_user",
        "perform.view_sitemembership",
        # Site access and blinded roles of accounts that are not privileged,
        # on the role pages (perform.role_admin), never through the admin.
        "perform.manage_roles",
        "perform.view_role_history",
        "perform.view_eligibilitycriterion",
        "randomization.view_allocation",
        "randomization.view_randomization_log",
        # Arms in the log: the balance page shows this role the same anyway.
        "randomization.view_log_arms",
        "randomization.view_balance",
        "crf.lock_forms",
        "crf.raise_queries",
        # Site risk indicators (PROTOCOL §14): nothing by arm.
        "outcomes.view_monitoring",
        # What the workers sent: the e-mail log, reminders and safety alerts.
        "infrastructure.view_outboundemail",
        "crf.view_visitreminder",
        "crf.view_safetyalert",
        # The pooled report only: nothing by arm (PROTOCOL §11).
        "outcomes.view_open_report",
        # The export wizard (PROTOCOL §14): their own exports.
        "outcomes.export_data",
    ],
    RANDOMIZER: [
        *_METHODS_CENTRE,
        "randomization.randomize_participant",
        "randomization.view_allocation",
        # The log without arms (no view_log_arms) and no balance page: the
        # person randomizing cannot watch a stratum's running imbalance.
        "randomization.view_randomization_log",
    ],
    STATISTICIAN: [
        *_METHODS_CENTRE,
        "randomization.view_allocation",
        "randomization.view_randomization_log",
        "randomization.view_log_arms",
        "randomization.view_balance",
        # Lists, block data and within-stratum sequence numbers.
        "randomization.manage_lists",
        # PROTOCOL §11: the unblinded statistician runs both reports.
        "outcomes.request_report",
        "outcomes.view_open_report",
        "outcomes.view_closed_report",
        "outcomes.view_download_log",
        "outcomes.export_analysis_dataset",
        # The export wizard (PROTOCOL §14); view_download_log shows every
        # export, whoever requested it.
        "outcomes.export_data",
        # A built report is a draft until the statistician releases it to the
        # DSMB (PROTOCOL §11); they also withdraw it and record the DSMB's
        # recommendation.
        "outcomes.release_report",
        "outcomes.view_monitoring",
    ],
    # Reports addressed to the DSMB, and nothing participant-level.
    DSMB_MEMBER: ["outcomes.view_open_report", "outcomes.view_closed_report"],
    ADMINISTRATOR: [
        "perform.view_site",
        "perform.add_site",
        "perform.change_site",
        "perform.view_user",
        "perform.add_user",
        "perform.change_user",
        "perform.view_sitemembership",
        "perform.view_role_history",
        "perform.view_eligibilitycriterion",
        "perform.add_eligibilitycriterion",
        "perform.change_eligibilitycriterion",
        "auth.view_group",
        # Operations: periodic tasks and unlocking accounts.
        "django_celery_beat.view_periodictask",
        "django_celery_beat.add_periodictask",
        "django_celery_beat.change_periodictask",
        "django_celery_beat.view_crontabschedule",
        "django_celery_beat.add_crontabschedule",
        "django_celery_beat.change_crontabschedule",
        "django_celery_beat.view_intervalschedule",
        "django_celery_beat.add_intervalschedule",
        "django_celery_beat.change_intervalschedule",
        "django_celery_beat.view_clockedschedule",
        "django_celery_beat.view_solarschedule",
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
        "axes.view_accesslog",
        "axes.view_accessfailurelog",
    ],
}

# The administrator runs the Django admin but holds no participant-level
# permission: they cannot see or change trial data (no shortcut around the
# services and their audit), and grants no role (PROTOCOL §2).
#
# The system owner is not a group: it is an active superuser, an account kept
# for granting and revoking privileged roles (perform.role_admin) and not for
# daily work. It needs two-factor authentication like every Methods Centre
# account.

# What the system owner (an active superuser) may do besides its groups'
# permissions (perform.backends): administer accounts and roles, nothing of the
# trial's data.
SYSTEM_OWNER_PERMISSIONS = [
    "perform.view_user",
    "perform.add_user",
    "perform.change_user",
    "perform.view_site",
    "perform.view_sitemembership",
    "perform.manage_roles",
    "perform.view_role_history",
    "auth.view_group",
    "axes.view_accessattempt",
    "axes.delete_accessattempt",
    "axes.view_accesslog",
    "axes.view_accessfailurelog",
]

# Roles that see arms by comparison (PROTOCOL §11): only the system owner
# grants them.
UNBLINDED_ROLES = {STATISTICIAN, DSMB_MEMBER}
# Granted and revoked by the system owner alone: the unblinded roles and the
# administrator (who runs the Django admin).
OWNER_GRANTED_ROLES = UNBLINDED_ROLES | {ADMINISTRATOR}
# An account holding one of these (or staff or superuser status) is managed by
# the system owner alone, so that no one can take over a colleague's account.
PRIVILEGED_ROLES = OWNER_GRANTED_ROLES | {DATA_MANAGER, RANDOMIZER}

# Roles whose members work at sites and must be linked to at least one.
SITE_ROLES = {SITE_COORDINATOR, SITE_INVESTIGATOR}

# Who is e-mailed what randomization decides (PROTOCOL §5). An allocation, arm
# included, goes to these roles at the participant's site (and to whoever
# randomized, by name); an exhausted stratum to these roles, who extend lists.
# Each must see what it is told: view_allocation, manage_lists (tested).
ALLOCATION_EMAIL_SITE_ROLES = {SITE_COORDINATOR}
LIST_ALERT_ROLES = {STATISTICIAN}


def role_permissions() -> dict[str, list[str]]:
    """``ROLE_PERMISSIONS`` with the configurable parts applied."""
    from django.conf import settings

    table = {role: list(perms) for role, perms in ROLE_PERMISSIONS.items()}
    if settings.RANDOMIZATION["SITE_STAFF_MAY_RANDOMIZE"]:
        for role in SITE_ROLES:
            table[role].append("randomization.randomize_participant")
    return table


def roles_sync(*, group_model, permission_model) -> None:
    """Create every role group and set its permissions to ``ROLE_PERMISSIONS``.

    Permissions that do not exist yet (their app has not migrated) are skipped;
    the post-migrate run after the last migration completes the set.
    """
    for role, perm_names in role_permissions().items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = []
        for name in perm_names:
            app_label, codename = name.split(".")
            wanted.extend(
                permission_model.objects.filter(
                    content_type__app_label=app_label, codename=codename
                )
            )
        group.permissions.set(wanted)

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _roles_sync_after_migrate(sender, **kwargs):
    from django.contrib.auth.models import Group, Permission

    from perform.roles import roles_sync

    roles_sync(group_model=Group, permission_model=Permission)


class PerformConfig(AppConfig):
    name = "perform"
    verbose_name = "Trial core"

    def ready(self):
        # Group permissions follow perform.roles.ROLE_PERMISSIONS after every migrate
        # (permissions of later apps only exist once their models are migrated).
        post_migrate.connect(
            _roles_sync_after_migrate, dispatch_uid="perform_roles_sync"
        )
        from perform import checks  # noqa: F401 - registers the system check

from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_save


def _roles_sync_after_migrate(sender, **kwargs):
    from django.contrib.auth.models import Group, Permission

    from perform.roles import roles_sync

    roles_sync(group_model=Group, permission_model=Permission)


def _database_privileges_after_migrate(sender, using, **kwargs):
    from perform.database import database_privileges_apply

    database_privileges_apply(using=using)


class PerformConfig(AppConfig):
    name = "perform"
    verbose_name = "Trial core"

    def ready(self):
        # Group permissions follow perform.roles.ROLE_PERMISSIONS after every migrate
        # (permissions of later apps only exist once their models are migrated).
        post_migrate.connect(
            _roles_sync_after_migrate, dispatch_uid="perform_roles_sync"
        )
        # Privileges of the application's database role and the audit tables'
        # protection (perform.database), whatever the migration added.
        # post_migrate is sent once per app after every migration has run:
        # answering perform's is enough.
        post_migrate.connect(
            _database_privileges_after_migrate,
            sender=self,
            dispatch_uid="perform_database_privileges",
        )
        # API tokens die with the credentials that issued them
        # (perform.api_tokens): a password change or deactivation, whatever
        # saves the account, and a django-axes lockout.
        from axes.signals import user_locked_out

        from perform import api_tokens

        pre_save.connect(
            api_tokens.user_credentials_changed,
            sender=self.get_model("User"),
            dispatch_uid="perform_api_tokens_credentials",
        )
        user_locked_out.connect(
            api_tokens.user_locked_out, dispatch_uid="perform_api_tokens_lockout"
        )

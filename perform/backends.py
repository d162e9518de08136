"""Authentication backend: Django's ModelBackend without "superusers have every
permission".

A PERFORM superuser is the trial's *system owner* (PROTOCOL §2): the account
that grants and revokes privileged roles, kept for that and not for daily work.
Giving it every permission would unblind it (closed reports, allocation lists)
and let it edit trial data outside the services. So a superuser holds the
permissions of its groups and user permissions like anyone else, plus
``roles.SYSTEM_OWNER_PERMISSIONS`` (account administration). ``User.has_perm``
drops Django's matching shortcut. No library offers this: it is Django's own
backend with one branch removed.
"""

from django.contrib.auth.backends import ModelBackend

from perform import roles


class RoleModelBackend(ModelBackend):
    def _get_permissions(self, user_obj, obj, from_name):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        cache_name = f"_{from_name}_perm_cache"
        if not hasattr(user_obj, cache_name):
            perms = getattr(self, f"_get_{from_name}_permissions")(user_obj)
            names = {
                f"{app_label}.{codename}"
                for app_label, codename in perms.values_list(
                    "content_type__app_label", "codename"
                ).order_by()
            }
            if from_name == "user" and user_obj.is_superuser:
                names |= set(roles.SYSTEM_OWNER_PERMISSIONS)
            setattr(user_obj, cache_name, names)
        return getattr(user_obj, cache_name)

    async def _aget_permissions(self, user_obj, obj, from_name):
        from asgiref.sync import sync_to_async

        return await sync_to_async(self._get_permissions)(user_obj, obj, from_name)

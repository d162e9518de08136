"""A digest of what ``seed_demo`` wrote, to show that a change to the code left
the demo's data as it was (``manage.py demo_fingerprint``; README "Demo").

Every table's rows, keyed by table name (so a model that moves between apps
keeps its key), sorted, without what differs on every run however the code
is: times written at seeding (date-times, and times of day inside texts such
as e-mail bodies), password hashes, token digests and random identifiers
(UUIDs, Message-IDs). Permissions are named by model and codename, not
numbered (their ids follow the order apps are installed, their app label the
app a model lives in). Left out: sessions, lockouts, beat state, the
admin log, and the role permissions' change events, which record how
``migrate`` built the roles rather than the demo.

Written here because no library digests a database's content this way
(``dumpdata`` keeps every volatile value and orders by id).
"""

import hashlib
import json
import re

from django.apps import apps
from django.contrib.auth.models import Permission
from django.db import models

VOLATILE_TYPES = (models.DateTimeField, models.UUIDField)
VOLATILE_COLUMNS = {
    "password",
    "digest",
    "token_key",
    "salt",
    "key",
    "secret",
    "last_login",
    "session_key",
    "session_data",
    "token",
    "throttling_failure_timestamp",
    "message_id",
    # A survey link's random nonce and the digest of its token.
    "nonce",
    "token_digest",
}
SKIPPED_TABLES = (
    "django_session",
    "django_celery",
    "axes_",
    "knox",
    "otp_",
    "two_factor",
    "django_admin_log",
    "django_content_type",
    "auth_permission",
    "perform_grouppermissionevent",
)
TIME_OF_DAY = re.compile(r"\d\d:\d\d")


def _columns(model) -> list:
    fields = [
        field
        for field in model._meta.concrete_fields
        if not isinstance(field, VOLATILE_TYPES)
        and field.attname not in VOLATILE_COLUMNS
        and not (field.is_relation and isinstance(field.target_field, VOLATILE_TYPES))
    ]
    if model._meta.auto_created:  # a many-to-many table: its ids follow the order
        fields = [field for field in fields if not field.primary_key]
    return fields


def _rows(model, permission_names: dict[int, str]) -> list[list[str]]:
    fields = _columns(model)
    named = [
        i
        for i, f in enumerate(fields)
        if f.is_relation and f.related_model is Permission
    ]
    rows = []
    for values in model._base_manager.order_by("pk").values_list(
        *[field.attname for field in fields]
    ):
        values = list(values)
        for i in named:
            values[i] = permission_names.get(values[i], values[i])
        rows.append([TIME_OF_DAY.sub("hh:mm", str(value)) for value in values])
    if named or isinstance(model._meta.pk, VOLATILE_TYPES):
        rows.sort()
    return rows


def demo_fingerprint() -> tuple[str, dict[str, tuple[int, str]]]:
    """The digest of the whole database, and (rows, digest) per table."""
    permission_names = {
        permission.pk: f"{permission.content_type.model}.{permission.codename}"
        for permission in Permission.objects.select_related("content_type")
    }
    total = hashlib.sha256()
    tables: dict[str, tuple[int, str]] = {}
    for model in sorted(
        apps.get_models(include_auto_created=True), key=lambda m: m._meta.db_table
    ):
        table = model._meta.db_table
        if (
            model._meta.proxy
            or not model._meta.managed
            or table in tables
            or table.startswith(SKIPPED_TABLES)
        ):
            continue
        fields = _columns(model)
        blob = json.dumps(
            [table, [f.attname for f in fields], _rows(model, permission_names)]
        ).encode()
        tables[table] = (model._base_manager.count(), hashlib.sha256(blob).hexdigest())
        total.update(blob)
    return total.hexdigest(), tables

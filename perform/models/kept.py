"""Form data kept when a POST arrived after its session had expired."""

from django.db import models


class PendingSubmission(models.Model):
    """What a signed-in user posted after their idle session had expired,
    kept until the same user signs in again (``perform.kept_submissions``).

    Patient data: it lives in this table only (never in the browser), and the
    row is deleted once restored, once another user signs in with the
    browser session that holds its token, or once older than
    ``PENDING_SUBMISSION_HOURS``. Not audited (no pghistory tracking): it is
    not a record of the trial, and an event table would keep a copy of the
    values forever; the save the user makes after reviewing the restored form
    is audited as every save is.
    """

    token = models.CharField(max_length=64, unique=True)
    path = models.CharField(max_length=2000)
    data = models.JSONField(help_text="The POST fields, each a list of values.")
    username = models.CharField(max_length=150)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "kept form submission"

    def __str__(self) -> str:
        return f"{self.username} {self.path} ({self.created_at:%Y-%m-%d %H:%M})"

"""Celery tasks of the trial core: take plain values, call Django, nothing more."""

from celery import shared_task
from django.core.mail import EmailMultiAlternatives
from django.db import transaction


@shared_task(
    bind=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
    soft_time_limit=50,
    time_limit=60,
)
def email_send(self, *, subject, body, to, html=None, from_email=None):
    """Send one e-mail (SMTP errors are OSErrors and retry with backoff)."""
    message = EmailMultiAlternatives(
        subject=subject, body=body, to=to, from_email=from_email
    )
    if html:
        message.attach_alternative(html, "text/html")
    message.send()
    return len(to)


def email_send_on_commit(*, subject, body, to, html=None, from_email=None):
    """Queue ``email_send`` once the surrounding transaction commits."""
    kwargs = {
        "subject": subject,
        "body": body,
        "to": list(to),
        "html": html,
        "from_email": from_email,
    }
    transaction.on_commit(lambda: email_send.apply_async(kwargs=kwargs))

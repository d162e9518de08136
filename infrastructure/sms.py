"""Text messages: one pluggable backend sends one message (``SMS_BACKEND``).

Only the outbox calls ``sms_send`` (``infrastructure.outbox.email_deliver``, for
a row whose channel is SMS), so a text message is logged, retried and sent at
most once exactly as an e-mail is.

Backends:

* ``FileBackend`` (development and tests): writes each message as one JSON
  file under ``SMS_FILE_PATH``, which tests read back;
* ``ConsoleBackend``: prints it to the worker's log;
* ``TwilioBackend``: the real provider's adapter, Twilio's Messages REST API
  over HTTPS (``SMS_TWILIO``: account SID, auth token, sender number;
  ``docs/epro.md``). Written here because it is one authenticated POST: a
  vendor SDK would add a dependency for that alone.

A backend raises ``OSError`` for a failure worth retrying (network, the
provider down) and any other exception for one that is not.
"""

import base64
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


class FileBackend:
    """Each message as a JSON file (``to``, ``body``, ``sent_at``)."""

    def send(self, *, to: str, body: str) -> None:
        folder = Path(settings.SMS_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        record = {"to": to, "body": body, "sent_at": timezone.now().isoformat()}
        name = f"{timezone.now():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.json"
        (folder / name).write_text(json.dumps(record), encoding="utf-8")


class ConsoleBackend:
    """Prints the message to the log (development only)."""

    def send(self, *, to: str, body: str) -> None:
        log.info("SMS to %s: %s", to, body)


class TwilioBackend:
    """Twilio's Messages API (https://www.twilio.com/docs/messaging/api)."""

    URL = "https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json"

    def send(self, *, to: str, body: str) -> None:
        conf = settings.SMS_TWILIO
        if not (conf["ACCOUNT_SID"] and conf["AUTH_TOKEN"] and conf["FROM"]):
            raise RuntimeError("SMS_TWILIO is not configured.")
        data = urllib.parse.urlencode(
            {"To": to, "From": conf["FROM"], "Body": body}
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - a fixed https URL
            self.URL.format(sid=urllib.parse.quote(conf["ACCOUNT_SID"])),
            data=data,
            method="POST",
        )
        secret = f"{conf['ACCOUNT_SID']}:{conf['AUTH_TOKEN']}".encode()
        request.add_header(
            "Authorization", "Basic " + base64.b64encode(secret).decode()
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                answer.read()
        except urllib.error.HTTPError as error:
            if error.code >= 500 or error.code == 429:
                raise OSError(f"Twilio answered {error.code}") from error
            raise RuntimeError(f"Twilio refused the message ({error.code})") from error


def sms_send(*, to: str, body: str) -> None:
    """Send one text message through the configured backend."""
    import_string(settings.SMS_BACKEND)().send(to=to, body=body)

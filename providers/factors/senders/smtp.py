"""E-mail by SMTP (``smtplib``): one connection per message, no retries.

``[email] smtp_security``: ``starttls`` (submission, port 587; the certificate is checked),
``tls`` (implicit TLS, port 465) or ``plain`` (tests and local relays; production refuses
it). Login with ``smtp_username`` and ``[secrets] smtp_password`` when a username is set.
The message is an :class:`email.message.EmailMessage` in UTF-8 with a Russian subject.

Failures (:class:`SendFailed`): anything before the message was handed over (connect,
TLS, login, refused sender or recipient, a refused DATA) → *not sent*; a timeout or a
dropped connection while the message was being handed over → *maybe sent*.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from email.utils import make_msgid

from gateway.config.factors import EmailSettings
from gateway.core.logs import log_event
from providers.factors.senders.base import SendFailed

__all__ = ["SmtpEmailSender", "build_message"]

log = logging.getLogger("vhod.factors.email")

SUBJECT = "Код входа в {service}"


def build_message(sender: str, to: str, text: str, service: str = "vhod") -> EmailMessage:
    """The e-mail: UTF-8 plain text, subject «Код входа в vhod»."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = SUBJECT.format(service=service)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, charset="utf-8")
    return message


class SmtpEmailSender:
    """:class:`EmailSender` over SMTP.

    :param password: ``[secrets] smtp_password`` (used when ``smtp_username`` is set).
    :param tls_context: the TLS context (tests); the default verifies certificates.
    """

    def __init__(
        self,
        settings: EmailSettings,
        password: str | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if not settings.smtp_host:
            raise ValueError("[email] smtp_host is required")
        self._s = settings
        self._password = password
        self._tls = tls_context or ssl.create_default_context()

    def send(self, to: str, text: str) -> None:
        message = build_message(self._s.from_address, to, text, self._s.service_name)
        client = self._connect()
        try:
            self._prepare(client)
            self._hand_over(client, message)
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()
        log_event(log, "email.sent", logging.INFO)

    def _connect(self) -> smtplib.SMTP:
        s = self._s
        try:
            if s.smtp_security == "tls":
                return smtplib.SMTP_SSL(
                    s.smtp_host, s.smtp_port, timeout=s.timeout_seconds, context=self._tls
                )
            return smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.timeout_seconds)
        except (smtplib.SMTPException, OSError) as exc:
            raise _failed("connect_failed", exc, maybe_sent=False) from None

    def _prepare(self, client: smtplib.SMTP) -> None:
        try:
            client.ehlo()
            if self._s.smtp_security == "starttls":
                client.starttls(context=self._tls)
                client.ehlo()
            if self._s.smtp_username:
                client.login(self._s.smtp_username, self._password or "")
        except (smtplib.SMTPException, OSError) as exc:
            raise _failed("session_failed", exc, maybe_sent=False) from None

    @staticmethod
    def _hand_over(client: smtplib.SMTP, message: EmailMessage) -> None:
        try:
            refused = client.send_message(message)
        except (
            smtplib.SMTPRecipientsRefused,
            smtplib.SMTPSenderRefused,
            smtplib.SMTPDataError,
        ) as exc:
            raise _failed("refused", exc, maybe_sent=False) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise _failed("handover_interrupted", exc, maybe_sent=True) from None
        if refused:
            raise _failed("refused", None, maybe_sent=False)


def _failed(reason: str, exc: BaseException | None, *, maybe_sent: bool) -> SendFailed:
    log_event(
        log,
        "email.send_failed",
        logging.WARNING,
        reason=reason,
        error=type(exc).__name__ if exc else "",
        maybe_sent=maybe_sent,
    )
    return SendFailed(reason, maybe_sent=maybe_sent)

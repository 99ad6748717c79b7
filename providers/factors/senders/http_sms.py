"""A generic HTTP SMS gateway client (SMS.ru, SMSC and alike), one request per message.

The request is built from ``[sms.http]``: ``url``, ``method``, the ``body_template``
fields with ``{to}`` (E.164), ``{to_digits}`` (without ``+``) and ``{text}`` replaced, sent
as a form (query for GET) or a JSON object, with ``auth_header: <[secrets] sms_auth>`` when
set. Success: a 2xx status and, when ``success_field`` is set, that top-level JSON field
equal to ``success_value`` (SMS.ru answers ``200 {"status": "ERROR"}`` on refusal).

No retries, no redirects. Failures (:class:`SendFailed`): connect refused or timed out,
4xx, a 2xx whose field says no → *not sent*; a read timeout, a dropped connection after
the request was written, 5xx, an unreadable answer → *maybe sent*. Neither the number nor
the text is logged.
"""

from __future__ import annotations

import json
import logging

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError
from urllib3.exceptions import NewConnectionError

from gateway.config.factors import SmsHttpSettings
from gateway.core.logs import log_event
from providers.factors.senders.base import SendFailed

__all__ = ["HttpSmsSender"]

log = logging.getLogger("vhod.factors.sms")


class HttpSmsSender:
    """:class:`SmsSender` over an HTTP API.

    :param auth_value: the value of ``settings.auth_header`` (``[secrets] sms_auth``).
    :param session: a ``requests.Session`` to use (tests); one is made otherwise.
    """

    def __init__(
        self,
        settings: SmsHttpSettings,
        auth_value: str | None = None,
        session: requests.Session | None = None,
    ) -> None:
        if not settings.url:
            raise ValueError("[sms.http] url is required")
        self._s = settings
        self._auth = auth_value
        self._session = session or requests.Session()
        adapter = HTTPAdapter(max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def send(self, to: str, text: str) -> None:
        fields = {
            name: value.replace("{to_digits}", to.lstrip("+"))
            .replace("{to}", to)
            .replace("{text}", text)
            for name, value in self._s.body_template.items()
        }
        headers = {"Accept": "application/json"}
        if self._s.auth_header and self._auth:
            headers[self._s.auth_header] = self._auth
        kwargs: dict[str, object] = {}
        if self._s.method == "GET":
            kwargs["params"] = fields
        elif self._s.body_format == "json":
            kwargs["json"] = fields
        else:
            kwargs["data"] = fields
        try:
            response = self._session.request(
                self._s.method,
                self._s.url,
                headers=headers,
                timeout=(self._s.connect_timeout_seconds, self._s.read_timeout_seconds),
                allow_redirects=False,
                **kwargs,  # type: ignore[arg-type]
            )
        except requests.exceptions.ConnectTimeout:
            raise self._failed("connect_timeout", maybe_sent=False) from None
        except requests.exceptions.ReadTimeout:
            raise self._failed("timeout", maybe_sent=True) from None
        except requests.exceptions.ConnectionError as exc:
            raise self._failed("connection", maybe_sent=not _never_connected(exc)) from None
        except requests.exceptions.RequestException:
            raise self._failed("request", maybe_sent=True) from None
        with response:
            self._judge(response)
        log_event(log, "sms.sent", logging.INFO, status=response.status_code)

    def _judge(self, response: requests.Response) -> None:
        status = response.status_code
        if 400 <= status < 500:
            raise self._failed(f"status_{status}", maybe_sent=False)
        if not 200 <= status < 300:
            raise self._failed(f"status_{status}", maybe_sent=True)
        if not self._s.success_field:
            return
        try:
            body = response.json()
        except (ValueError, requests.exceptions.RequestException):
            raise self._failed("unreadable_answer", maybe_sent=True) from None
        value = body.get(self._s.success_field) if isinstance(body, dict) else None
        if value is None:
            raise self._failed("unreadable_answer", maybe_sent=True)
        as_text = value if isinstance(value, str) else json.dumps(value)
        if as_text != self._s.success_value:
            raise self._failed("rejected", maybe_sent=False)

    @staticmethod
    def _failed(reason: str, *, maybe_sent: bool) -> SendFailed:
        log_event(log, "sms.send_failed", logging.WARNING, reason=reason, maybe_sent=maybe_sent)
        return SendFailed(reason, maybe_sent=maybe_sent)


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    """Whether the connection was never made (refused, unresolvable): nothing was sent."""
    inner = exc.args[0] if exc.args else None
    return isinstance(inner, MaxRetryError) and isinstance(inner.reason, NewConnectionError)

"""The ESIA client's transport pieces: the ``urllib3`` pool (:func:`environment_pool`),
size-limited reads (:data:`MAX_RESPONSE_BYTES`), JSON decoding and failure naming.

A ``urllib3`` pool keeps connections to ESIA alive and reads the environment's proxy and
CA bundle once. ``requests`` sits on the same ``urllib3``; what it adds (sessions,
cookies, hooks, environment merging on every call) cost twice the CPU of the request
itself, for nothing a fixed, known peer needs.
"""

from __future__ import annotations

import json
import os
from typing import Any

import requests
import urllib3
from certifi import where as default_ca_bundle
from urllib3.exceptions import ConnectTimeoutError
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import ReadTimeoutError

MAX_RESPONSE_BYTES = 1024 * 1024
"""Answers are read up to this size; a larger one is dropped (SECURITY.md R11)."""


def failure_kind(exc: BaseException) -> str:
    """``timeout``, ``connection`` or ``other`` for a failed request (before any answer)."""
    if isinstance(exc, NewConnectionError):  # a subclass of ConnectTimeoutError, sadly
        return "connection"
    if isinstance(exc, ReadTimeoutError | ConnectTimeoutError | TimeoutError):
        return "timeout"
    if isinstance(exc, Urllib3Error | OSError):
        return "connection"
    return "other"


class TooLarge(Exception):
    """The answer exceeded :data:`MAX_RESPONSE_BYTES`."""


def environment_pool(base_url: str) -> urllib3.PoolManager:
    """A connection pool for ``base_url`` with the environment's proxy (``HTTPS_PROXY``,
    ``NO_PROXY``) and CA bundle (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``; else the bundle
    ``requests`` uses) read once, here: ESIA's address does not change while the process
    runs, and a change of proxy settings needs a restart, like any other setting.
    """
    scheme = base_url.split(":", 1)[0].lower()
    proxies = requests.utils.get_environ_proxies(base_url)
    proxy = proxies.get(scheme) or proxies.get("all")
    bundle = (
        os.environ.get("REQUESTS_CA_BUNDLE")
        or os.environ.get("CURL_CA_BUNDLE")
        or default_ca_bundle()
    )
    options: dict[str, Any] = {"num_pools": 4, "maxsize": 16, "ca_certs": bundle}
    if proxy:
        return urllib3.ProxyManager(proxy, **options)
    return urllib3.PoolManager(**options)


def read_limited(response: urllib3.BaseHTTPResponse) -> bytes:
    """The whole body, or :class:`TooLarge` past :data:`MAX_RESPONSE_BYTES` (then the
    connection is dropped rather than drained)."""
    try:
        raw = response.read(MAX_RESPONSE_BYTES + 1)
        if len(raw) > MAX_RESPONSE_BYTES:
            raise TooLarge
    except BaseException:
        response.close()
        raise
    response.release_conn()
    return raw


def json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None

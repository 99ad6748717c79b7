"""The fake upstream's persona page, ``GET|POST /login/fake`` (dev and tests only).

``GET`` lists the personas of :class:`~providers.upstream.fake.FakeUpstream`; ``POST``
makes a one-time code for the chosen persona (or ``error=access_denied`` on "cancel") and
sends the browser to the gateway's fixed callback with a 303. The gateway's app registers
this blueprint only when the fake upstream is enabled (elsewhere the URL is a 404); the
page's texts (:func:`messages`) join the gateway's catalogue, the template extends the
gateway's ``base.html``, and the gateway's CSRF check covers the form.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from flask import Blueprint
from flask import Response
from flask import render_template
from flask import request
from flask import url_for

from gateway.core.logs import log_event
from providers.messages import load_messages
from providers.upstream.fake import FakeUpstream

log = logging.getLogger(__name__)

MAX_STATE_LENGTH = 128


def fake_page(
    upstream: FakeUpstream, *, callback_endpoint: str, bad_request: Callable[[], Response]
) -> Blueprint:
    """The blueprint ``fake_upstream`` serving ``upstream``'s page.

    :param callback_endpoint: the gateway's upstream callback (``url_for`` with
        ``provider=``).
    :param bad_request: the gateway's 400 page (missing or malformed ``state``, unknown
        persona).
    """
    bp = Blueprint("fake_upstream", __name__, template_folder="templates")

    @bp.route("/login/fake", methods=["GET", "POST"])
    def page() -> Response:
        """Pick a persona (or cancel) and go to the callback."""
        state = (request.form if request.method == "POST" else request.args).get("state", "")
        if not state or len(state) > MAX_STATE_LENGTH:
            return bad_request()
        if request.method == "GET":
            body = render_template("fake_personas.html", personas=upstream.personas, state=state)
            return Response(body, mimetype="text/html")
        callback_url = url_for(callback_endpoint, provider=upstream.name)
        if "cancel" in request.form:
            params = {"error": "access_denied", "state": state}
        else:
            try:
                code = upstream.issue_code(request.form.get("persona", ""), state)
            except KeyError:
                return bad_request()
            params = {"code": code, "state": state}
        log_event(log, "fake_upstream.answered", cancelled="cancel" in request.form)
        return Response(status=303, headers={"Location": f"{callback_url}?{urlencode(params)}"})

    return bp


def messages() -> dict[str, dict[str, str]]:
    """The page's texts, ``{"ru": {...}, "en": {...}}`` (``fake_*`` keys)."""
    return load_messages(Path(__file__).parent / "messages.toml")

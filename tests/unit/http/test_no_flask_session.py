"""The gateway opens no Flask session (``gateway.app.NoFlaskSession``): its state lives in
its own cookies and stores, and a write to ``flask.session`` fails loudly instead of
putting data into a signed but readable cookie."""

from __future__ import annotations

from typing import Any

import pytest
from flask import session


def test_no_session_cookie_and_no_writes(app: Any, client: Any) -> None:
    response = client.get("/", headers={"Cookie": "session=eyJ4IjoxfQ.forged.cookie"})
    assert response.status_code == 200
    assert not any(c.startswith("session=") for c in response.headers.getlist("Set-Cookie"))
    with app.test_request_context("/"):
        assert not session
        with pytest.raises(RuntimeError):
            session["person"] = "x"

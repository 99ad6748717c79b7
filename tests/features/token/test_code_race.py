"""SECURITY.md T28: concurrent redemption of one code — exactly one winner.

20 identical token requests released by a barrier, 10 rounds, on the embedded default
(SQLite, SQL ephemeral store) and on PostgreSQL + Redis. Every request is a 200 or a 400
``invalid_grant`` — never a 5xx, never two 200s. Decided and documented behaviour: the
losers are replays, so they revoke the grant; the winner's tokens are therefore dead too
(RFC 6749 §4.1.2 "SHOULD revoke … all tokens previously issued based on that code").
"""

from __future__ import annotations

from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import race

THREADS = 20
ROUNDS = 10


def test_concurrent_redemption_has_exactly_one_winner(race_kit: OAuthKit) -> None:
    kit = race_kit
    rc = kit.register("school")
    app = kit.client.application
    for _ in range(ROUNDS):
        authorized = kit.login(rc)
        data = {
            "grant_type": "authorization_code",
            "code": authorized.code,
            "redirect_uri": rc.redirect_uri,
            "code_verifier": authorized.verifier,
        }
        results = race(
            app, THREADS, lambda c, data=data: c.post("/token", data=data, headers=rc.auth())
        )
        statuses = [getattr(r, "status_code", r) for r in results]
        assert statuses.count(200) == 1, statuses
        assert statuses.count(400) == THREADS - 1, statuses
        for response in results:
            if response.status_code == 400:
                assert response.get_json()["error"] == "invalid_grant"
        winner = next(r for r in results if r.status_code == 200).get_json()
        assert kit.introspect(rc, winner["access_token"]).get_json() == {"active": False}
        kit.assert_json_error(kit.refresh(rc, winner["refresh_token"]), "invalid_grant")

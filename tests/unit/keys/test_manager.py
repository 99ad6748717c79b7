"""Signing-key lifecycle, rotation, JWKS view and caching (SECURITY.md T2, R8)."""

from __future__ import annotations

import json

import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import ECKey
from joserfc.jwk import RSAKey
from joserfc.jws import extract_compact

from gateway.config.schema import KeySettings
from gateway.core.clock import FixedClock
from gateway.core.types import KeyState
from gateway.core.types import SigningKey
from keys.jwks import PRIVATE_MEMBERS
from keys.jwks import thumbprint
from keys.manager import KeyManager
from keys.manager import SigningKeyUnavailable
from keys.manager import VerificationKey
from keys.manager import sealing_context
from keys.sealing import AesGcmSealer
from keys.sealing import sealed_key_id
from tests.unit.keys.conftest import KEEP_SECONDS
from tests.unit.keys.conftest import TTL_SECONDS
from tests.unit.keys.fakes import FakeDatabase

ALGS = ("RS256", "ES256")


def _kids(jwks: dict[str, list[dict[str, object]]]) -> list[object]:
    return [k["kid"] for k in jwks["keys"]]


def _states(db: FakeDatabase, alg: str) -> dict[KeyState, list[SigningKey]]:
    out: dict[KeyState, list[SigningKey]] = {s: [] for s in KeyState}
    for key in db.signing_keys.values():
        if key.alg == alg:
            out[key.state].append(key)
    return out


def _sign(manager: KeyManager, alg: str) -> str:
    key = manager.signing_key(alg)
    jose_key = (
        RSAKey.import_key(key.private_jwk) if alg == "RS256" else ECKey.import_key(key.private_jwk)
    )
    return jwt.encode({"alg": alg, "kid": key.kid, "typ": "JWT"}, {"sub": "s-1"}, jose_key)


def _header_kid(token: str) -> str:
    kid = extract_compact(token.encode()).headers()["kid"]
    assert isinstance(kid, str)
    return kid


def _verify_with(manager: KeyManager, token: str) -> VerificationKey | None:
    found = manager.verification_key(_header_kid(token))
    if found is None:
        return None
    importer = RSAKey if found.alg == "RS256" else ECKey
    jwt.decode(token, importer.import_key(found.public_jwk), algorithms=[found.alg])
    return found


def test_first_start_creates_active_and_next_per_alg(manager: KeyManager, db: FakeDatabase) -> None:
    commits = db.commits
    changes = manager.ensure_keys()
    assert db.commits == commits + 1
    assert len(changes.changes) == 4
    for alg in ALGS:
        states = _states(db, alg)
        assert len(states[KeyState.ACTIVE]) == 1
        assert len(states[KeyState.NEXT]) == 1
        assert states[KeyState.ACTIVE][0].activated_at is not None
    assert manager.ensure_keys().changes == ()
    assert db.commits == commits + 1  # nothing missing: nothing written


def test_jwks_public_only_unique_kids(manager: KeyManager) -> None:
    manager.ensure_keys()
    jwks = manager.public_jwks()
    assert len(jwks["keys"]) == 4
    kids = _kids(jwks)
    assert len(set(kids)) == len(kids)
    for jwk in jwks["keys"]:
        assert not PRIVATE_MEMBERS & jwk.keys()
        assert jwk["use"] == "sig"
        assert jwk["alg"] in ALGS
        assert jwk["kid"] == thumbprint(jwk)
    assert {k["alg"] for k in jwks["keys"]} == set(ALGS)


def test_jwks_is_a_fresh_copy(manager: KeyManager) -> None:
    manager.ensure_keys()
    manager.public_jwks()["keys"][0]["d"] = "leak"
    assert all("d" not in k for k in manager.public_jwks()["keys"])


def test_private_jwks_are_sealed_with_the_kid_context(
    manager: KeyManager, db: FakeDatabase, sealer: AesGcmSealer
) -> None:
    manager.ensure_keys()
    for key in db.signing_keys.values():
        private = json.loads(sealer.open(key.sealed_private_jwk, sealing_context(key.kid)))
        assert private["d"].encode() not in key.sealed_private_jwk
        assert "d" not in json.loads(key.public_jwk)
        assert thumbprint(private) == key.kid
        with pytest.raises(Exception, match="authenticate"):
            sealer.open(key.sealed_private_jwk, sealing_context("another-kid"))


def test_signing_key_is_the_active_key(manager: KeyManager, db: FakeDatabase) -> None:
    manager.ensure_keys()
    for alg in ALGS:
        key = manager.signing_key(alg)
        (active,) = _states(db, alg)[KeyState.ACTIVE]
        assert key.kid == active.kid
        assert key.alg == alg
        assert key.private_jwk["kid"] == key.kid
        assert "d" in key.private_jwk
        assert key.private_jwk["d"] not in repr(key)
        token = _sign(manager, alg)
        assert _verify_with(manager, token) is not None


def test_signing_key_without_keys(manager: KeyManager) -> None:
    with pytest.raises(SigningKeyUnavailable, match="ensure_keys"):
        manager.signing_key("RS256")
    with pytest.raises(ValueError, match="unsupported"):
        manager.signing_key("HS256")


def test_rotation_lifecycle(manager: KeyManager, db: FakeDatabase, clock: FixedClock) -> None:
    manager.ensure_keys()
    before = {alg: _states(db, alg) for alg in ALGS}
    clock.advance(100)
    changes = manager.rotate()
    now = clock.now()
    for alg in ALGS:
        old_active = before[alg][KeyState.ACTIVE][0]
        old_next = before[alg][KeyState.NEXT][0]
        after = _states(db, alg)
        (retired,) = after[KeyState.RETIRED]
        (active,) = after[KeyState.ACTIVE]
        (nxt,) = after[KeyState.NEXT]
        assert retired.kid == old_active.kid
        assert retired.retired_at == now
        assert retired.sealed_private_jwk == b""  # the private half is destroyed
        assert active.kid == old_next.kid
        assert active.activated_at == now
        assert nxt.kid not in (old_active.kid, old_next.kid)
        assert nxt.created_at == now
        assert manager.signing_key(alg).kid == old_next.kid
    assert len(changes.changes) == 6
    assert any("next -> active" in line for line in changes.describe())


def test_rotation_publishes_next_before_use(manager: KeyManager) -> None:
    manager.ensure_keys()
    published_before = set(_kids(manager.public_jwks()))
    manager.rotate()
    for alg in ALGS:
        assert manager.signing_key(alg).kid in published_before
    after = manager.public_jwks()
    assert len(after["keys"]) == 6  # 2 x (active, next, retired)
    assert published_before < set(_kids(after))


def test_rotate_one_alg(manager: KeyManager, db: FakeDatabase) -> None:
    manager.ensure_keys()
    es_before = manager.signing_key("ES256").kid
    rs_before = manager.signing_key("RS256").kid
    changes = manager.rotate("RS256")
    assert {c.alg for c in changes.changes} == {"RS256"}
    assert manager.signing_key("ES256").kid == es_before
    assert manager.signing_key("RS256").kid != rs_before
    with pytest.raises(ValueError, match="unsupported"):
        manager.rotate("PS256")


def test_retired_key_kept_then_dropped(
    manager: KeyManager, db: FakeDatabase, clock: FixedClock
) -> None:
    manager.ensure_keys()
    token = _sign(manager, "RS256")
    old_kid = _header_kid(token)
    manager.rotate()
    # within the keep window (plus the cache TTL other workers may still sign in)
    clock.advance(KEEP_SECONDS + TTL_SECONDS - 1)
    assert old_kid in _kids(manager.public_jwks())
    assert _verify_with(manager, token) is not None
    info = {k.kid: k for k in manager.list_keys()}[old_kid]
    assert info.published
    retired_at = db.signing_keys[old_kid].retired_at
    assert retired_at is not None
    assert info.published_until == retired_at + KEEP_SECONDS + TTL_SECONDS
    # after it
    clock.advance(1)
    assert old_kid not in _kids(manager.public_jwks())
    assert manager.verification_key(old_kid) is None
    assert db.signing_keys[old_kid].state is KeyState.RETIRED  # kept as history
    assert not {k.kid: k for k in manager.list_keys()}[old_kid].published
    assert len(manager.public_jwks()["keys"]) == 4


def test_token_signed_with_old_key_verifies_after_rotation(
    manager: KeyManager, clock: FixedClock
) -> None:
    manager.ensure_keys()
    tokens = {alg: _sign(manager, alg) for alg in ALGS}
    manager.rotate()
    clock.advance(60)
    for alg, token in tokens.items():
        found = _verify_with(manager, token)
        assert found is not None
        assert found.state is KeyState.RETIRED
        assert manager.signing_key(alg).kid != found.kid


def test_wrong_key_does_not_verify(manager: KeyManager) -> None:
    manager.ensure_keys()
    token = _sign(manager, "ES256")
    nxt = next(k for k in manager.list_keys() if k.alg == "ES256" and k.state is KeyState.NEXT)
    found = manager.verification_key(nxt.kid)
    assert found is not None
    with pytest.raises(BadSignatureError):
        jwt.decode(token, ECKey.import_key(found.public_jwk), algorithms=["ES256"])


def _two_processes(
    db: FakeDatabase, sealer: AesGcmSealer, clock: FixedClock, settings: KeySettings
) -> tuple[KeyManager, KeyManager]:
    """The CLI and a serving worker over one key table, keys created by the CLI."""
    cli = KeyManager(db.uow, sealer, clock, settings, cache_ttl_seconds=TTL_SECONDS)
    worker = KeyManager(db.uow, sealer, clock, settings, cache_ttl_seconds=TTL_SECONDS)
    cli.ensure_keys()
    return cli, worker


def test_other_process_follows_rotation_after_cache_ttl(
    db: FakeDatabase, sealer: AesGcmSealer, clock: FixedClock, settings: KeySettings
) -> None:
    cli, worker = _two_processes(db, sealer, clock, settings)
    old = worker.signing_key("RS256").kid
    cli.rotate()
    new = cli.signing_key("RS256").kid
    assert new != old
    clock.advance(TTL_SECONDS - 1)
    assert worker.signing_key("RS256").kid == old  # stale within the TTL, by design
    assert new in _kids(worker.public_jwks())  # it was published as next all along
    clock.advance(1)
    assert worker.signing_key("RS256").kid == new
    assert len(worker.public_jwks()["keys"]) == 6


def test_other_process_reloads_on_unknown_kid(
    db: FakeDatabase, sealer: AesGcmSealer, clock: FixedClock, settings: KeySettings
) -> None:
    cli = KeyManager(db.uow, sealer, clock, settings, cache_ttl_seconds=TTL_SECONDS)
    worker = KeyManager(
        db.uow,
        sealer,
        clock,
        settings,
        cache_ttl_seconds=TTL_SECONDS,
        unknown_kid_refresh_seconds=1,
    )
    cli.ensure_keys()
    worker.public_jwks()  # snapshot taken before two rotations
    cli.rotate()
    cli.rotate()  # the active key now was created after the worker's snapshot
    token = _sign(cli, "ES256")
    assert _header_kid(token) not in _kids(worker.public_jwks())
    clock.advance(1)
    found = _verify_with(worker, token)
    assert found is not None
    assert found.state is KeyState.ACTIVE


def test_unknown_kid_reloads_are_rate_limited(
    db: FakeDatabase, sealer: AesGcmSealer, clock: FixedClock, settings: KeySettings
) -> None:
    manager = KeyManager(db.uow, sealer, clock, settings, unknown_kid_refresh_seconds=1)
    manager.ensure_keys()
    manager.public_jwks()
    clock.advance(1)
    opened = db.opened
    assert manager.verification_key("made-up-1") is None
    assert db.opened == opened + 1
    for i in range(10):
        assert manager.verification_key(f"made-up-{i}") is None
    assert db.opened == opened + 1


def test_list_keys_has_no_private_parts(manager: KeyManager) -> None:
    manager.ensure_keys()
    manager.rotate("ES256")
    infos = manager.list_keys()
    assert sorted((k.alg, k.state.value) for k in infos) == [
        ("ES256", "active"),
        ("ES256", "next"),
        ("ES256", "retired"),
        ("RS256", "active"),
        ("RS256", "next"),
    ]
    for info in infos:
        assert not {"d", "private_jwk", "sealed_private_jwk"} & set(vars(info))
        assert info.published


def test_concurrent_first_start_converges(
    db: FakeDatabase, sealer: AesGcmSealer, clock: FixedClock, settings: KeySettings
) -> None:
    a = KeyManager(db.uow, sealer, clock, settings)
    b = KeyManager(db.uow, sealer, clock, settings)
    # two workers start at once: each sees an empty table and creates a full set
    elsewhere = FakeDatabase()
    KeyManager(elsewhere.uow, sealer, clock, settings).ensure_keys()
    a.ensure_keys()
    db.signing_keys |= elsewhere.signing_keys
    for alg in ALGS:
        assert len(_states(db, alg)[KeyState.ACTIVE]) == 2
        assert a.signing_key(alg).kid == b.signing_key(alg).kid  # everyone agrees
    assert len(a.public_jwks()["keys"]) == 8  # all published: any of them may have signed
    clock.advance(1)
    changes = b.ensure_keys()
    assert {c.after for c in changes.changes} == {KeyState.RETIRED}
    for alg in ALGS:
        states = _states(db, alg)
        assert len(states[KeyState.ACTIVE]) == 1
        assert len(states[KeyState.NEXT]) == 1
        assert a.signing_key(alg).kid == states[KeyState.ACTIVE][0].kid


def test_rotate_without_next_only_publishes_one(manager: KeyManager, db: FakeDatabase) -> None:
    manager.ensure_keys()
    for kid, key in list(db.signing_keys.items()):
        if key.alg == "RS256" and key.state is KeyState.NEXT:
            del db.signing_keys[kid]
    active = manager.signing_key("RS256").kid
    changes = manager.rotate("RS256")
    assert [(c.before, c.after) for c in changes.changes] == [(None, KeyState.NEXT)]
    assert manager.signing_key("RS256").kid == active  # never signs with an unpublished key


def test_rsa_bits_from_settings(db: FakeDatabase, sealer: AesGcmSealer, clock: FixedClock) -> None:
    manager = KeyManager(db.uow, sealer, clock, KeySettings(rsa_bits=3072))
    manager.ensure_keys()
    key = manager.signing_key("RS256")
    assert key.private_key.key_size == 3072


def test_keys_survive_data_key_rotation_and_reseal(
    manager: KeyManager,
    db: FakeDatabase,
    sealer: AesGcmSealer,
    clock: FixedClock,
    settings: KeySettings,
) -> None:
    manager.ensure_keys()
    manager.rotate()
    newest = sealer.rotate_data_key()
    assert sealer.reseal() == 4  # active + next per alg; retired keys hold nothing
    for key in db.signing_keys.values():
        if key.sealed_private_jwk:
            assert sealed_key_id(key.sealed_private_jwk) == newest
    fresh = KeyManager(db.uow, sealer, clock, settings)
    for alg in ALGS:
        assert _verify_with(fresh, _sign(fresh, alg)) is not None


def test_public_jwks_json_is_the_jwks_encoded_once_per_snapshot(manager: KeyManager) -> None:
    manager.ensure_keys()
    body = manager.public_jwks_json()
    assert json.loads(body) == manager.public_jwks()
    assert manager.public_jwks_json() is body  # no re-encoding while the keys are unchanged
    manager.rotate()
    rotated = manager.public_jwks_json()
    assert rotated != body
    assert json.loads(rotated) == manager.public_jwks()


def test_public_jwks_json_follows_a_rotation_in_another_process(
    db: FakeDatabase, sealer: AesGcmSealer, clock: FixedClock, settings: KeySettings
) -> None:
    cli, worker = _two_processes(db, sealer, clock, settings)
    before = worker.public_jwks_json()
    cli.rotate()
    clock.advance(TTL_SECONDS)
    after = worker.public_jwks_json()
    assert after != before
    assert json.loads(after) == cli.public_jwks()
    assert after == cli.public_jwks_json()  # the same bytes in every process


def test_public_jwks_json_drops_a_retired_key_when_its_window_ends(
    manager: KeyManager, clock: FixedClock
) -> None:
    manager.ensure_keys()
    manager.rotate()
    clock.advance(KEEP_SECONDS + TTL_SECONDS - 1)
    assert len(json.loads(manager.public_jwks_json())["keys"]) == 6  # a fresh snapshot
    clock.advance(1)  # the retired keys' window ends while that snapshot is still fresh
    assert len(json.loads(manager.public_jwks_json())["keys"]) == 4

"""GOST benchmark: our Streebog and GOST R 34.10-2012 against ``gostcrypto``.

The backends in use are printed first: Streebog ``native`` (the C extension) or ``python``
(``VHOD_STREEBOG=python``), point arithmetic ``openssl`` (libcrypto through ctypes) or
``python`` (``VHOD_GOST_EC=python``); run it twice to compare.

``python -m bench gost``. Measures, on the XchA/CryptoPro-A curve ESIA uses:

* Streebog-256 of a 110-byte message (about the size of a v2 signed string);
* signing a digest (ours: fixed-base table, uniform schedule; gostcrypto: double-and-add);
* verifying a signature: "first use" of a public key (wNAF for the key, fixed-base table for
  G) and "repeated key" (from the second use on the key has a fixed-base table of its own,
  which is the real workload: ESIA's few certificates, the few registered clients).

Each figure is the best of several timed batches (the machine is shared; the best batch is
the least disturbed one). Runs in well under a minute.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from providers.upstream.esia import streebog
from providers.upstream.esia.gost import EC_BACKEND
from providers.upstream.esia.gost import PrivateKey
from providers.upstream.esia.gost import _math_for  # internal: to time the table build
from providers.upstream.esia.gost_curves import CRYPTOPRO_A
from providers.upstream.esia.gost_curves import CRYPTOPRO_B
from providers.upstream.esia.gost_curves import CRYPTOPRO_C
from providers.upstream.esia.gost_curves import TC26_256_A
from providers.upstream.esia.streebog import streebog256


def _rate(fn: Callable[[], object], batch: int, batches: int) -> float:
    """Best operations per second over ``batches`` runs of ``batch`` calls."""
    best = float("inf")
    for _ in range(batches):
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        best = min(best, time.perf_counter() - start)
    return batch / best


def main() -> None:
    # gostcrypto is a dev dependency: import it only when the benchmark runs.
    import gostcrypto.gosthash as gosthash
    import gostcrypto.gostsignature as gostsignature

    message = secrets.token_bytes(110)
    scalar = secrets.randbelow(CRYPTOPRO_A.q - 1) + 1
    key = PrivateKey(CRYPTOPRO_A, scalar)

    print(f"backends: Streebog {streebog.BACKEND}, point arithmetic {EC_BACKEND}")
    print("pure-Python table build (first use per curve, cached afterwards):")
    for curve in (CRYPTOPRO_A, CRYPTOPRO_B, CRYPTOPRO_C, TC26_256_A):
        start = time.perf_counter()
        _math_for(curve)
        print(f"  {curve.name:<40} {1000 * (time.perf_counter() - start):7.1f} ms")
    start = time.perf_counter()
    streebog256(b"")
    print(f"  {'Streebog tables':<40} {1000 * (time.perf_counter() - start):7.1f} ms")

    public = key.public_key()
    digest = streebog256(message)
    signature = key.sign_digest(digest)
    assert public.verify_digest(digest, signature)

    # gostcrypto works big-endian with r || s (ESIA.md §10.3): reverse key and digest.
    theirs = gostsignature.new(
        gostsignature.MODE_256,
        gostsignature.CURVES_R_1323565_1_024_2019["id-tc26-gost-3410-2012-256-paramSetB"],
    )
    private_be = bytearray(scalar.to_bytes(32, "big"))
    public_be = bytearray(public.x.to_bytes(32, "big") + public.y.to_bytes(32, "big"))
    digest_be = bytearray(digest[::-1])
    their_signature = theirs.sign(private_be, digest_be)
    assert theirs.verify(public_be, digest_be, their_signature)

    # Distinct keys, each verified once, for the first-use figure.
    cold_batch, cold_batches = 10, 5
    cold = []
    for _ in range(cold_batch * cold_batches):
        other = PrivateKey.generate(CRYPTOPRO_A)
        cold.append((other.public_key(), other.sign_digest(digest)))
    cold_iter = iter(cold)

    def verify_cold() -> None:
        pub, sig = next(cold_iter)
        assert pub.verify_digest(digest, sig)

    public.verify_digest(digest, signature)  # second use: builds the key's table
    their_verify = _rate(lambda: theirs.verify(public_be, digest_be, their_signature), 4, 5)
    rows = [
        (
            "Streebog-256, 110 B (hash/s)",
            _rate(lambda: streebog256(message), 200, 10),
            _rate(lambda: gosthash.new("streebog256", data=message).digest(), 40, 7),
        ),
        (
            "sign (op/s)",
            _rate(lambda: key.sign_digest(digest), 100, 10),
            _rate(lambda: theirs.sign(private_be, digest_be), 5, 5),
        ),
        (
            "verify, first use of key (op/s)",
            _rate(verify_cold, cold_batch, cold_batches),
            their_verify,
        ),
        (
            "verify, repeated key (op/s)",
            _rate(lambda: public.verify_digest(digest, signature), 100, 10),
            their_verify,
        ),
    ]
    print()
    print(f"{'operation':<34} {'vhod':>10} {'gostcrypto':>11} {'ratio':>8}")
    for name, ours, other in rows:
        print(f"{name:<34} {ours:>10.1f} {other:>11.1f} {ours / other:>7.1f}x")

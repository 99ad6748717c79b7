"""Dev and test only: what the sandbox is (``GET /``), its personas
(``GET /sandbox/personas``) and injected faults (``POST|GET|DELETE /sandbox/faults``, when
the config enables them)."""

from __future__ import annotations

from flask import Response
from flask import jsonify
from flask import request

from providers.upstream.esia_sandbox.common import bp
from providers.upstream.esia_sandbox.common import current_sandbox
from providers.upstream.esia_sandbox.common import json_error
from providers.upstream.esia_sandbox.common import not_found
from providers.upstream.esia_sandbox.state import Faults


@bp.get("/")
def index() -> Response:
    current = current_sandbox()
    return jsonify(
        {
            "what": "vhod ESIA sandbox (dev and tests only; all data is made up)",
            "issuer": current.config.issuer,
            "systems": {
                cid: {
                    "redirect_uris": list(s.spec.redirect_uris),
                    "token_alg": s.spec.token_alg,
                    "client_certificate_hash": s.certificate.client_certificate_hash,
                }
                for cid, s in current.systems.items()
            },
            "personas": "/sandbox/personas",
        }
    )


@bp.get("/sandbox/personas")
def personas() -> Response:
    return jsonify([p.public() for p in current_sandbox().personas.values()])


@bp.route("/sandbox/faults", methods=["GET", "POST", "DELETE"])
def faults() -> Response:
    current = current_sandbox()
    if not current.config.faults_enabled:
        return not_found()
    if request.method == "POST":
        try:
            current.state.set_faults(Faults.from_json(request.get_json(silent=True)))
        except ValueError as exc:
            return json_error({"error": str(exc)}, 400)
    elif request.method == "DELETE":
        current.state.set_faults(Faults())
    return jsonify(current.state.faults.public())

"""The OAuth 2.0 / OpenID Connect provider: the only package that knows Authlib.

* ``provider`` — :class:`~gateway.oauth.provider.OAuthProvider`, what ``gateway.http`` calls;
* ``authorize`` — authorization requests, PAR, code issuance (after the journey);
* ``server``, ``grants``, ``clientauth``, ``endpoints``, ``adapters`` — Authlib, made to
  meet SECURITY.md (S256-only PKCE, atomic code use with replay revocation, refresh
  rotation with reuse detection, registered auth method only, private_key_jwt, RFC 9207);
* ``tokens``, ``jose`` — ID, access (RFC 9068 or opaque), refresh and logout tokens,
  pairwise subjects, revocation markers;
* ``logout``, ``backchannel`` — RP-initiated logout and back-channel notifications;
* ``discovery`` — the provider metadata; ``records``, ``families``, ``context``, ``errors``.
"""

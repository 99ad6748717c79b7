"""Which ESIA scopes vhod asks for, derived from the school system's request.

The table (the only place that decides; ESIA.md §4 lists the scope names):

=================================================  ==============================================
condition                                          ESIA scopes added
=================================================  ==============================================
always                                             ``openid fullname birthdate``
``sms_factors_enabled`` (SMS second factor on)     ``mobile`` (the verified mobile number only)
``email_factors_enabled`` (e-mail codes on)        ``email`` (the verified address only)
``roster_matching`` (pupils matched by SNILS)      ``snils``
downstream ``children`` or ``child`` requested     ``kid_fullname kid_birthdate kid_snils
                                                   kid_birth_cert_doc``
=================================================  ==============================================

Nothing else is ever requested (data minimisation, 152-FZ Art. 5; SECURITY.md T98): no
e-mail unless e-mail codes are on, no address, passport or INN, and no ``kid_fio`` (that
name does not exist, ESIA.md §4).
``openid`` comes first (EKA and AIS put it first; it is required for the id_token) and the
order is fixed, because the scope string is part of the signed ``client_secret`` (ESIA.md
§2.4) and must be identical in the authorize and token requests (§3.1).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "BASE_SCOPES",
    "KID_SCOPES",
    "esia_scopes",
    "granted_scopes",
    "scope_string",
]

BASE_SCOPES = ("openid", "fullname", "birthdate")
MOBILE_SCOPE = "mobile"
EMAIL_SCOPE = "email"
SNILS_SCOPE = "snils"
KID_SCOPES = ("kid_fullname", "kid_birthdate", "kid_snils", "kid_birth_cert_doc")
CHILD_DOWNSTREAM_SCOPES = frozenset({"children", "child"})
"""Downstream (vhod) scopes that need the parent's list of children from ESIA."""


def esia_scopes(
    downstream: tuple[str, ...],
    *,
    sms_factors_enabled: bool,
    roster_matching: bool,
    email_factors_enabled: bool = False,
) -> tuple[str, ...]:
    """The ESIA scopes for a login on behalf of a request for ``downstream`` scopes.

    :param downstream: the scope names the school system asked vhod for.
    :param sms_factors_enabled: ask for the verified mobile number (SMS second factor).
    :param email_factors_enabled: ask for the verified e-mail address (e-mail codes).
    :param roster_matching: ask for the SNILS, to match pupils against school rosters.
    :returns: ESIA scope names in a fixed order (see the module table).
    """
    scopes = list(BASE_SCOPES)
    if sms_factors_enabled:
        scopes.append(MOBILE_SCOPE)
    if email_factors_enabled:
        scopes.append(EMAIL_SCOPE)
    if roster_matching:
        scopes.append(SNILS_SCOPE)
    if CHILD_DOWNSTREAM_SCOPES.intersection(downstream):
        scopes.extend(KID_SCOPES)
    return tuple(scopes)


def scope_string(scopes: Iterable[str]) -> str:
    """Scopes joined by single spaces, as ESIA signs and sends them (ESIA.md §4)."""
    return " ".join(scopes)


def granted_scopes(claim: object) -> frozenset[str]:
    """The bare scope names of an access token's ``scope`` claim.

    ESIA suffixes each entry with its owner (``fullname?oid=1000299681``) and writes
    organisation scopes as URLs (ESIA.md §3.3); the suffix is dropped, as EKA's
    ``getScopes`` does. Anything that is not a string gives the empty set.
    """
    if not isinstance(claim, str):
        return frozenset()
    return frozenset(entry.split("?", 1)[0] for entry in claim.split() if entry)

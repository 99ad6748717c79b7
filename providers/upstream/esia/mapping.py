"""ESIA's JSON → :class:`UpstreamIdentity`, through an explicit allow-list.

Nothing downstream ever sees ESIA JSON (DESIGN.md, "upstream data is translated at the
edge"). Every field that is not listed here is dropped: gender, birth place, citizenship,
INN, e-mail, addresses, ``eTag``, ``stateFacts``, document issuers and act records…

Attributes (``UpstreamIdentity.attributes``), each present only when ESIA granted the scope
and sent a well-formed value:

====================  =======================  ==========================================
attribute             ESIA source (scope)      form
====================  =======================  ==========================================
``family_name``       ``lastName`` (fullname)  string
``given_name``        ``firstName``            string
``middle_name``       ``middleName``           string (often absent)
``birthdate``         ``birthDate``            ISO ``YYYY-MM-DD`` (ESIA: ``DD.MM.YYYY``)
``snils``             ``snils`` (snils)        ``XXX-XXX-XXX YY``, checksum valid (§8.1)
``phone_number``      ``ctts`` MBT (mobile)    E.164 ``+7XXXXXXXXXX``, **VERIFIED only**
``email``             ``ctts`` EML (email)     the address, **VERIFIED only**
====================  =======================  ==========================================

Children (``UpstreamIdentity.children``; scopes ``kid_*``, ESIA.md §5.5) carry
``upstream_id`` (the kid record id: **not** the child's own account oid, §9), the name
fields, ``birthdate``, ``snils`` and ``birth_certificate`` ``{type, series, number,
issue_date, verified}`` (``RF_BRTH_CERT`` series normalised per §8.3; foreign and USSR
certificates are passed through unnormalised).

Account level (ESIA.md §6), in this order:

1. ``child``: ``urn:esia:sbj:lvl`` is ``KD`` (a child account made by a parent, §9).
2. ``confirmed``: REST ``trusted`` is ``true``; when the person resource has no
   ``trusted`` field, the id_token's ``urn:esia:sbj:is_tru`` or ``lvl == "PR"`` decides.
   REST ``trusted: false`` wins over the token (the lower level on disagreement).
3. ``standard``: not confirmed, but a SNILS is present **and** an identity document is:
   a verified ``RF_PASSPORT`` / ``FID_DOC`` when documents were read, else the person's
   ``rIdDoc`` reference (§6 point 4: the level is not one flag; infer it).
4. ``simplified``: everything else (the conservative answer when evidence is missing,
   e.g. when the SNILS scope was not requested).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from gateway.core.identifiers import format_snils
from gateway.core.identifiers import is_valid_snils
from gateway.core.identifiers import normalize_birth_certificate_number
from gateway.core.identifiers import normalize_birth_certificate_series
from gateway.core.types import UpstreamIdentity

__all__ = [
    "ACCOUNT_LEVELS",
    "KidRecord",
    "account_level",
    "map_identity",
]

PROVIDER = "esia"
ACCOUNT_LEVELS = ("child", "confirmed", "standard", "simplified")
BIRTH_CERT_TYPES = (
    "RF_BRTH_CERT",
    "KID_RF_BRTH_CERT",
    "FID_BRTH_CERT",
    "OLD_BRTH_CERT",
    "BRTH_CERT",
)
"""Birth-certificate document types, most preferred first (ESIA.md §5.4)."""
RF_BIRTH_CERT_TYPES = frozenset({"RF_BRTH_CERT", "KID_RF_BRTH_CERT"})
IDENTITY_DOC_TYPES = frozenset({"RF_PASSPORT", "FID_DOC"})
AMR_MAP = {"PWD": "pwd", "DS": "sc"}
"""ESIA ``amr`` / ``urn:esia:amd`` → RFC 8176 values (DESIGN.md: PWD → pwd, DS → sc)."""

_MAX_TEXT = 200
_DATE = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})$")
_PHONE = re.compile(r"^\+7\(?(\d{3})\)?(\d{7})$")


@dataclass(frozen=True)
class KidRecord:
    """One element of ``/rs/prns/{oid}/kids`` and the documents of ``/kids/{id}/docs``."""

    kid: Mapping[str, Any]
    documents: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text if 0 < len(text) <= _MAX_TEXT else None


def _iso_date(value: Any) -> str | None:
    """``DD.MM.YYYY`` → ``YYYY-MM-DD`` (ESIA.md §5.2), else ``None``."""
    if not isinstance(value, str):
        return None
    match = _DATE.match(value.strip())
    if match is None:
        return None
    day, month, year = match.groups()
    if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31):
        return None
    return f"{year}-{month}-{day}"


def _snils(value: Any) -> str | None:
    if isinstance(value, str) and is_valid_snils(value):
        return format_snils(value)
    return None


def _e164(value: Any) -> str | None:
    """``+7(912)3456789`` (ESIA.md §8.4) → ``+79123456789``."""
    if not isinstance(value, str):
        return None
    match = _PHONE.match(value.replace(" ", "").replace("-", ""))
    return f"+7{match.group(1)}{match.group(2)}" if match else None


def _names(source: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for ours, theirs in (
        ("family_name", "lastName"),
        ("given_name", "firstName"),
        ("middle_name", "middleName"),
    ):
        value = _text(source.get(theirs))
        if value is not None:
            out[ours] = value
    return out


def _sbj(id_claims: Mapping[str, Any] | None) -> Mapping[str, Any]:
    sbj = (id_claims or {}).get("urn:esia:sbj")
    return sbj if isinstance(sbj, Mapping) else {}


def account_level(
    person: Mapping[str, Any],
    id_claims: Mapping[str, Any] | None,
    documents: Sequence[Mapping[str, Any]] | None,
) -> str:
    """``child`` | ``confirmed`` | ``standard`` | ``simplified`` (see the module docstring)."""
    sbj = _sbj(id_claims)
    lvl = sbj.get("urn:esia:sbj:lvl")
    if lvl == "KD":
        return "child"
    trusted = person.get("trusted")
    if isinstance(trusted, bool):
        confirmed = trusted
    else:
        confirmed = sbj.get("urn:esia:sbj:is_tru") is True or lvl == "PR"
    if confirmed:
        return "confirmed"
    if _snils(person.get("snils")) is None:
        return "simplified"
    if documents is not None:
        has_id = any(
            d.get("type") in IDENTITY_DOC_TYPES and d.get("vrfStu") == "VERIFIED" for d in documents
        )
    else:
        has_id = person.get("rIdDoc") not in (None, "", 0)
    return "standard" if has_id else "simplified"


def _amr(id_claims: Mapping[str, Any] | None) -> tuple[str, ...]:
    if not id_claims:
        return ()
    raw = id_claims.get("amr", id_claims.get("urn:esia:amd"))
    values = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    out: list[str] = []
    for value in values:
        mapped = AMR_MAP.get(value) if isinstance(value, str) else None
        if mapped and mapped not in out:
            out.append(mapped)
    return tuple(out)


def _verified_email(contacts: Sequence[Mapping[str, Any]]) -> str | None:
    for contact in contacts:
        value = contact.get("value")
        if (
            contact.get("type") == "EML"
            and contact.get("vrfStu") == "VERIFIED"
            and isinstance(value, str)
            and 3 <= len(value) <= 254
            and value.count("@") == 1
            and not any(c.isspace() for c in value)
        ):
            return value
    return None


def _verified_mobile(contacts: Sequence[Mapping[str, Any]]) -> str | None:
    for contact in contacts:
        if contact.get("type") == "MBT" and contact.get("vrfStu") == "VERIFIED":
            phone = _e164(contact.get("value"))
            if phone is not None:
                return phone
    return None


def _birth_certificate(documents: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    by_type = {d.get("type"): d for d in documents if isinstance(d, Mapping)}
    for doc_type in BIRTH_CERT_TYPES:
        doc = by_type.get(doc_type)
        if doc is None:
            continue
        raw_series, raw_number = doc.get("series"), doc.get("number")
        if doc_type in RF_BIRTH_CERT_TYPES:
            series = (
                normalize_birth_certificate_series(raw_series)
                if isinstance(raw_series, str)
                else None
            )
            number = (
                normalize_birth_certificate_number(raw_number)
                if isinstance(raw_number, str)
                else None
            )
        else:
            series, number = _text(raw_series), _text(raw_number)
        if number is None:
            continue
        return {
            "type": doc_type,
            "series": series,
            "number": number,
            "issue_date": _iso_date(doc.get("issueDate")),
            "verified": doc.get("vrfStu") == "VERIFIED",
        }
    return None


def _child(record: KidRecord, granted: frozenset[str]) -> dict[str, Any] | None:
    kid = record.kid
    kid_id = kid.get("id")
    if not isinstance(kid_id, int | str) or isinstance(kid_id, bool) or str(kid_id) == "":
        return None
    child: dict[str, Any] = {"upstream_id": str(kid_id)}
    if "kid_fullname" in granted:
        child.update(_names(kid))
    if "kid_birthdate" in granted and (birthdate := _iso_date(kid.get("birthDate"))):
        child["birthdate"] = birthdate
    if "kid_snils" in granted and (snils := _snils(kid.get("snils"))):
        child["snils"] = snils
    if "kid_birth_cert_doc" in granted:
        cert = _birth_certificate(record.documents)
        if cert is not None:
            child["birth_certificate"] = cert
    return child


def map_identity(
    *,
    oid: str,
    person: Mapping[str, Any],
    granted: frozenset[str],
    id_claims: Mapping[str, Any] | None = None,
    contacts: Sequence[Mapping[str, Any]] = (),
    documents: Sequence[Mapping[str, Any]] | None = None,
    kids: Sequence[KidRecord] = (),
) -> UpstreamIdentity:
    """Build the protocol-neutral identity from ESIA's answers.

    :param oid: the person's ESIA oid (from the verified access token).
    :param person: ``/rs/prns/{oid}``.
    :param granted: bare scope names granted in the access token.
    :param id_claims: the verified id_token claims (level, ``amr``), if any.
    :param contacts: ``/ctts`` elements (only read when ``mobile`` or ``email`` was granted).
    :param documents: ``/docs`` elements, or ``None`` when they were not read.
    :param kids: ``/kids`` elements with their documents.
    """
    attributes: dict[str, Any] = {}
    if "fullname" in granted:
        attributes.update(_names(person))
    if "birthdate" in granted and (birthdate := _iso_date(person.get("birthDate"))):
        attributes["birthdate"] = birthdate
    if "snils" in granted and (snils := _snils(person.get("snils"))):
        attributes["snils"] = snils
    if "mobile" in granted and (phone := _verified_mobile(contacts)):
        attributes["phone_number"] = phone
        attributes["phone_number_verified"] = True
    if "email" in granted and (email := _verified_email(contacts)):
        attributes["email"] = email
        attributes["email_verified"] = True
    children = tuple(c for r in kids if (c := _child(r, granted)) is not None)
    return UpstreamIdentity(
        provider=PROVIDER,
        subject=oid,
        account_level=account_level(person, id_claims, documents),
        amr=_amr(id_claims),
        attributes=attributes,
        children=children,
    )

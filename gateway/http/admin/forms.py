"""Reading what an admin sent: the JSON body of an API call and the fields of a page's
form. Problems raise :class:`~gateway.core.errors.ValidationFailed` naming the field."""

from __future__ import annotations

from typing import Any

from flask import request

from gateway.core.errors import ValidationFailed


def json_body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationFailed(["body: a JSON object is required"])
    return data


def str_field(data: dict[str, Any], key: str, *, required: bool = False, limit: int = 255) -> str:
    value = data.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationFailed([f"{key}: a string of at most {limit} characters"])
    if required and not value:
        raise ValidationFailed([f"{key}: required"])
    return value


def str_list(data: dict[str, Any], key: str) -> tuple[str, ...] | None:
    if key not in data:
        return None
    value = data[key]
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationFailed([f"{key}: a list of strings"])
    if len(value) > 100:
        raise ValidationFailed([f"{key}: at most 100 entries"])
    return tuple(dict.fromkeys(value))


def lines(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))


def form_scopes() -> tuple[str, ...]:
    return tuple(dict.fromkeys(request.form.getlist("scope")))

"""``vhod device``: a reference push device on the command line (for trying push approval
and for tests), built on ``providers.factors.device.Device`` over HTTP.

* ``enrol URL TOKEN [--label L] [--key FILE]`` — a new P-256 key, enrolled at vhod's base
  ``URL`` with the one-time token from ``/account/factors``; the key, the device id and the
  URL are saved to ``FILE`` (default ``var/device.json``, mode 0600);
* ``list`` — the challenges waiting for this device (ids and expiry; never the number);
* ``approve NUMBER [--challenge ID]`` — approve with the number the login page shows;
* ``deny [--challenge ID]`` — "not me" (pushes pause for a while).

Exit codes: 0 success; 1 refused or failed (vhod said no, a wrong number, nothing pending,
vhod unreachable); 2 usage or configuration (a missing or unreadable device file, a bad
URL). One line on stderr.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any
from typing import NoReturn
from urllib.parse import urlsplit

import click

from providers.factors.device import Device
from providers.factors.device import DeviceRequestFailed
from providers.factors.device import HttpDeviceTransport

__all__ = ["device"]

DEFAULT_FILE = "var/device.json"

_key_option = click.option(
    "--key",
    "key_file",
    default=DEFAULT_FILE,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The device file (key, device id, vhod's URL).",
)


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"vhod device: {message}", err=True)
    sys.exit(code)


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        _fail(f"not a base URL: {url!r} (e.g. https://vhod.example)", 2)
    return url.rstrip("/")


def _save(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=2)
    path.chmod(0o600)


def _load(key_file: str) -> Device:
    path = Path(key_file)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        url, device_id, pem = data["url"], data["device_id"], data["private_key_pem"]
        return Device.from_pem(HttpDeviceTransport(_check_url(url)), pem.encode(), device_id)
    except FileNotFoundError:
        _fail(f"no device file {key_file}; run `vhod device enrol URL TOKEN` first", 2)
    except OSError as exc:
        _fail(f"cannot read {key_file}: {exc.strerror or type(exc).__name__}", 2)
    except (ValueError, KeyError, TypeError, AttributeError):
        _fail(f"{key_file} is not a device file", 2)


def _talk(action: Any) -> Any:
    """Run one exchange with vhod; refusals and network failures exit 1."""
    try:
        return action()
    except DeviceRequestFailed as exc:
        _fail(f"refused: {exc}")
    except KeyError:
        _fail("no such pending challenge")
    except LookupError as exc:
        _fail(str(exc))
    except OSError as exc:  # requests' errors are OSErrors
        _fail(f"vhod is unreachable: {type(exc).__name__}")


@click.group("device")
def device() -> None:
    """A reference push device: enrol, list pending sign-ins, approve or deny."""


@device.command("enrol")
@click.argument("url")
@click.argument("token")
@click.option("--label", default="vhod device", show_default=True, help="Shown on /account.")
@_key_option
def enrol(url: str, token: str, label: str, key_file: str) -> None:
    """Enrol a new device key at vhod's base URL with the one-time TOKEN."""
    base = _check_url(url)
    path = Path(key_file)
    if path.exists():
        _fail(f"{key_file} exists; pass --key for another file or remove it", 2)
    new = Device(HttpDeviceTransport(base))
    device_id = _talk(lambda: new.enrol(token, label))
    _save(
        path,
        {
            "url": base,
            "device_id": device_id,
            "label": label,
            "private_key_pem": new.private_pem().decode("ascii"),
        },
    )
    click.echo(f"enrolled device {device_id}; key saved to {key_file}")


@device.command("list")
@_key_option
def list_pending(key_file: str) -> None:
    """The sign-ins waiting for this device."""
    challenges = _talk(_load(key_file).pending)
    if not challenges:
        click.echo("nothing pending")
    for c in challenges:
        click.echo(f"{c['challenge_id']}\texpires_at={c['expires_at']}")


@device.command("approve")
@click.argument("number", type=click.IntRange(10, 99))
@click.option("--challenge", default=None, help="The challenge id (default: the only one).")
@_key_option
def approve(number: int, challenge: str | None, key_file: str) -> None:
    """Approve with the NUMBER the login page shows."""
    held = _load(key_file)
    state = _talk(lambda: held.approve(number, challenge))
    click.echo(state)


@device.command("deny")
@click.option("--challenge", default=None, help="The challenge id (default: the only one).")
@_key_option
def deny(challenge: str | None, key_file: str) -> None:
    """Deny ("not me"): the sign-in fails and pushes pause for a while."""
    held = _load(key_file)
    state = _talk(lambda: held.deny(challenge))
    click.echo(state)

"""Load the configuration: TOML file, then environment overlay, then validation.

* The file is optional; without one every default of ``schema.py`` applies (the embedded
  default: SQLite and the SQL ephemeral store in ``var/``).
* ``VHOD__<SECTION>__<OPTION>=value`` overrides one option (secrets come this way);
  ``VHOD__<SECTION>__<OPTION>_FILE=/path`` reads the value from a file (Docker/K8s secrets).
  ``VHOD__MODE`` sets the mode, ``VHOD_DATA_DIR`` the data directory.
* Every problem is reported at once in one :class:`ConfigError`, one line each, in the
  form ``[section] option: problem``.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gateway.config.schema import GatewayConfig
from gateway.config.schema import production_problems
from gateway.core.errors import ConfigError

ENV_PREFIX = "VHOD__"
ENV_CONFIG = "VHOD_CONFIG"
ENV_DATA_DIR = "VHOD_DATA_DIR"


def load_config(
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    more_checks: Callable[[GatewayConfig], list[str]] | None = None,
) -> GatewayConfig:
    """Read, overlay and validate; raise :class:`ConfigError` listing every problem.

    :param more_checks: problems found beyond the schema and the production rules, listed
        with them (``vhod config check`` passes the start-up checks that read files:
        ``gateway.compose.startup_problems``).
    """
    env = os.environ if env is None else env
    problems: list[str] = []
    data: dict[str, Any] = {}
    if path is not None:
        data = _read_toml(Path(path), problems)
    _overlay_env(data, env, problems)
    if env.get(ENV_DATA_DIR):
        data.setdefault("server", {})["data_dir"] = env[ENV_DATA_DIR]
    config: GatewayConfig | None = None
    try:
        config = GatewayConfig.model_validate(data)
    except ValidationError as exc:
        problems.extend(_describe(exc))
    if config is not None:
        problems.extend(production_problems(config))
        if more_checks is not None:
            problems.extend(more_checks(config))
    if problems or config is None:
        raise ConfigError(problems or ["configuration is invalid"])
    return config


def config_from_dict(data: dict[str, Any]) -> GatewayConfig:
    """Validate a plain dict (tests); same checks and error format as ``load_config``."""
    problems: list[str] = []
    config: GatewayConfig | None = None
    try:
        config = GatewayConfig.model_validate(data)
    except ValidationError as exc:
        problems.extend(_describe(exc))
    if config is not None:
        problems.extend(production_problems(config))
    if problems or config is None:
        raise ConfigError(problems or ["configuration is invalid"])
    return config


def _read_toml(path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        problems.append(f"{path}: file not found")
    except PermissionError:
        problems.append(f"{path}: permission denied")
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{path}: not valid TOML: {exc}")
    except UnicodeDecodeError:
        problems.append(f"{path}: not valid TOML: the file is not UTF-8")
    except IsADirectoryError:
        problems.append(f"{path}: is a directory")
    return {}


def _overlay_env(data: dict[str, Any], env: Mapping[str, str], problems: list[str]) -> None:
    for name, raw in sorted(env.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        if not all(parts):
            problems.append(f"{name}: malformed variable name")
            continue
        value: Any = raw
        if parts[-1].endswith("_file") and len(parts) >= 2:
            parts[-1] = parts[-1][: -len("_file")]
            try:
                value = Path(raw).read_text(encoding="utf-8").strip()
            except OSError as exc:
                problems.append(f"{name}: cannot read {raw}: {exc.strerror}")
                continue
        elif raw.startswith(("[", "{")):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                problems.append(f"{name}: starts like JSON but is not valid JSON")
                continue
        target = data
        for part in parts[:-1]:
            node = target.setdefault(part, {})
            if not isinstance(node, dict):
                problems.append(f"{name}: [{part}] is not a section")
                break
            target = node
        else:
            target[parts[-1]] = value


def _describe(exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown option"
        if len(loc) >= 2:
            section, option = ".".join(loc[:-1]), loc[-1]
            lines.append(f"[{section}] {option}: {msg}")
        elif len(loc) == 1:
            lines.append(f"{loc[0]}: {msg}")
        else:
            lines.append(msg)
    return lines


def data_dir(config: GatewayConfig) -> Path:
    """The data directory, absolute (relative paths are taken from the working dir)."""
    return Path(config.server.data_dir).resolve()


def database_url(config: GatewayConfig) -> str:
    """The durable store's URL; the embedded default is SQLite in the data directory."""
    if config.store.database_url:
        return config.store.database_url
    return f"sqlite:///{data_dir(config) / 'vhod.db'}"

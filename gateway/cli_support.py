"""What every ``vhod`` command group shares: one way to fail, and one mapping of expected
errors to messages and exit codes (0 success; 1 the operation failed — a store is
unreachable, a check found problems; 2 bad input or configuration, every problem on its
own line)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any
from typing import NoReturn
from typing import TypeVar

import click

from gateway.core.errors import Conflict
from gateway.core.errors import GatewayError
from gateway.core.errors import NotFound
from gateway.core.errors import StoreUnavailable
from gateway.core.errors import ValidationFailed

F = TypeVar("F", bound=Callable[..., Any])


def fail(lines: list[str], code: int = 2) -> NoReturn:
    """Print each line as ``vhod: …`` on stderr and exit with ``code``."""
    for line in lines:
        click.echo(f"vhod: {line}", err=True)
    sys.exit(code)


def handle_errors(fn: F) -> F:
    """Turn expected failures into one clear message each and the documented exit code."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ValidationFailed as exc:
            fail(exc.problems, 2)
        except (Conflict, NotFound) as exc:
            fail([str(exc)], 2)
        except StoreUnavailable as exc:
            fail([f"the {exc.store} store is unreachable; check [store] settings"], 1)
        except GatewayError as exc:
            fail([str(exc)], 1)

    return wrapper  # type: ignore[return-value]

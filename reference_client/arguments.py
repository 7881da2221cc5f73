"""Upstream's Python argument checks and their texts (``Parameter 'NAME' should ...``).

Upstream's client and server share these texts, so they live here once: the ``check_*``
functions take the exception type to raise (the server passes RuntimeError, as upstream's server
raises), and the ``require_*`` ones are the client's, raising InvalidInputError (a RuntimeError
too). The reference server imports this module: it sits on the client layer (protos <-
reference_client <- reference_server, tests/test_conformance_structure.py).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from reference_client.errors import InvalidInputError


def check_str(name: str, value: Any, *, error: type[Exception] = RuntimeError) -> str:
    """A non-empty str."""
    if not isinstance(value, str):
        raise error(f"Parameter '{name}' should be str, but actually {type(value)}")
    if not value:
        raise error(f"Parameter '{name}' should not be empty str")
    return value


def check_bool(name: str, value: Any, *, error: type[Exception] = RuntimeError) -> bool:
    if not isinstance(value, bool):
        raise error(f"Parameter '{name}' should be bool, but actually {type(value)}")
    return value


def check_int(
    name: str,
    value: Any,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    error: type[Exception] = RuntimeError,
) -> int:
    """An int (never a bool: ``version_number=True`` is a mistake, not version 1) in bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise error(f"Parameter '{name}' should be int, but actually {type(value)}")
    if minimum is not None and value < minimum:
        raise error(f"Parameter '{name}' should be >= {minimum}")
    if maximum is not None and value > maximum:
        raise error(f"Parameter '{name}' should be <= {maximum}")
    return value


def check_int_in_range(
    name: str, value: Any, minimum: int, maximum: int, *, error: type[Exception] = RuntimeError
) -> int:
    """An int in [minimum, maximum], with upstream's range text (as for max_msg_mb_size)."""
    check_int(name, value, error=error)
    if not minimum <= value <= maximum:
        raise error(f"Parameter '{name}' should be in range [{minimum},{maximum}]")
    return value


require_str = partial(check_str, error=InvalidInputError)
require_int = partial(check_int, error=InvalidInputError)


def require_version(value: Any) -> int:
    """version_number as upstream's client checks it: any int >= 0, bool included.

    Upstream tests ``isinstance(value, int)``, so ``True`` is version 1 there (protobuf stores
    1); refusing it would break a program that works with upstream. The uint64 upper bound is
    checked when a request is built (reference_client.values.build_request), as upstream fails
    there.
    """
    if isinstance(value, bool):
        return value
    return require_int("version_number", value, minimum=0)


__all__ = [
    "check_bool",
    "check_int",
    "check_int_in_range",
    "check_str",
    "require_int",
    "require_str",
    "require_version",
]

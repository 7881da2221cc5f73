"""Upstream's Python argument checks and their texts (``Parameter 'NAME' should ...``).

Client and server share these texts, so they live here once; each side passes the exception
type it raises (the server RuntimeError, the client its InvalidInputError, a RuntimeError too).
"""

from __future__ import annotations

from typing import Any


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

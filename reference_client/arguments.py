"""Argument checks with upstream's error texts (``Parameter 'NAME' should ...``)."""

from __future__ import annotations

from typing import Any

from reference_client.errors import InvalidInputError


def require_str(name: str, value: Any) -> str:
    """A non-empty str, else InvalidInputError with upstream's text."""
    if not isinstance(value, str):
        raise InvalidInputError(f"Parameter '{name}' should be str, but actually {type(value)}")
    if not value:
        raise InvalidInputError(f"Parameter '{name}' should not be empty str")
    return value


def require_int(
    name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """An int within bounds, else InvalidInputError with upstream's text.

    Unlike upstream, bool is refused: ``version_number=True`` is a mistake, not version 1.
    """
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInputError(f"Parameter '{name}' should be int, but actually {type(value)}")
    if minimum is not None and value < minimum:
        raise InvalidInputError(f"Parameter '{name}' should be >= {minimum}")
    if maximum is not None and value > maximum:
        raise InvalidInputError(f"Parameter '{name}' should be <= {maximum}")
    return value

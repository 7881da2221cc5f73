"""Argument checks for the server's Python API, with upstream's RuntimeError texts."""

from __future__ import annotations

from typing import Any


def check_str(name: str, value: Any) -> str:
    """A non-empty str."""
    if not isinstance(value, str):
        raise RuntimeError(f"Parameter '{name}' should be str, but actually {type(value)}")
    if not value:
        raise RuntimeError(f"Parameter '{name}' should not be empty str")
    return value


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise RuntimeError(f"Parameter '{name}' should be bool, but actually {type(value)}")
    return value


def check_int(name: str, value: Any, minimum: int, maximum: int) -> int:
    """An int (not a bool) in [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuntimeError(f"Parameter '{name}' should be int, but actually {type(value)}")
    if not minimum <= value <= maximum:
        raise RuntimeError(f"Parameter '{name}' should be in range [{minimum},{maximum}]")
    return value

"""The client's argument checks: upstream's texts (protos.arguments) as InvalidInputError."""

from __future__ import annotations

from functools import partial
from typing import Any

from protos.arguments import check_int, check_str
from reference_client.errors import InvalidInputError

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

"""The client's argument checks: upstream's texts (protos.arguments) as InvalidInputError."""

from __future__ import annotations

from functools import partial

from protos.arguments import check_int, check_str
from reference_client.errors import InvalidInputError

require_str = partial(check_str, error=InvalidInputError)
require_int = partial(check_int, error=InvalidInputError)

"""The server's copy of the protocol's error codes and texts: the one place they live.

Every code and text a reply of the reference server carries is built here (docs/protocol.md §2
and §3): upstream's texts character for character (double spaces included), and this project's
own where it answers an upstream defect or adds a limit (each marked, and listed as a departure
in docs/protocol.md). The request checks, the reply assembly, the dispatcher and the kit's
servables all ask this module; none spells a code or an upstream text itself.

The conformance harness keeps its own, independent copy of these facts and must not import this
module: a harness that read the server's texts could not catch a server that gets them wrong.
Texts that describe one servable's own inputs (add_cast's shape rule, resnet50's image
refusals) stay with that servable.
"""

from __future__ import annotations

from collections.abc import Sequence

from protos.codec import DType

# -- codes (ErrorMsg.error_code) -------------------------------------------------------------

SUCCESS = 0
FAILED = 1
INVALID_INPUTS = 2
SYSTEM_ERROR = 3
SERVABLE_UNAVAILABLE = 5

# -- truncation: every text that leaves the server passes through truncate() ----------------

MAX_ERROR_BYTES = 384
_KEEP = MAX_ERROR_BYTES // 2


def truncate(text: str) -> bytes:
    """The bytes an error text is sent as: its UTF-8, and over 384 bytes the first and last 192
    joined by ``...``. Upstream cuts its std::string by bytes, even inside a character, and so
    does this server (``error_msg`` is a bytes field). A stage's exception text may hold lone
    surrogates: they are sent escaped, not turned into a crash."""
    data = text.encode("utf-8", errors="backslashreplace")
    if len(data) <= MAX_ERROR_BYTES:
        return data
    return data[:_KEEP] + b"..." + data[-_KEEP:]


# -- request-level (code 2 unless said otherwise) --------------------------------------------


def spec_repr(servable: str, method: str, version: int) -> str:
    """Upstream's rendering of a requested servable spec (note the spaces)."""
    text = f"servable({servable}) method({method}) "
    if version > 0:
        text += f" version({version}) "
    return text


def servable_unavailable(servable: str, method: str, version: int) -> str:
    return f"Request {spec_repr(servable, method, version)}, servable is not available"


def method_unavailable(servable: str, method: str, version: int) -> str:
    return f"Request {spec_repr(servable, method, version)}, method is not available"


def no_instances(servable: str, method: str) -> str:
    return f"Instances count of request cannot be 0, servable: {servable}, method: {method}"


def missing_input(name: str, servable: str, method: str) -> str:
    return f"Cannot find input {name} in instance input , servable {servable}, method {method}"


def input_check_failed(name: str, detail: str) -> str:
    return f"Instances input {name} check failed, detail: {detail}"


def queue_full(limit: int) -> str:
    """Code 1: the request arrived while ``limit`` others were being served."""
    return f"Serving Error: enqueued requests count exceeds the limit {limit}"


# -- details of a malformed tensor (the part after "detail: ") --------------------------------

# Shapes with more dims than this are refused before anything is built per dim (ours: upstream
# has no limit; numpy, which holds every decoded tensor, cannot represent more than 64 dims).
MAX_DIMS = 64
# A shape in a text shows at most this many dims, so a text costs the same whatever was sent.
_SHOWN_DIMS = 16

TEXT_VALUE_COUNT = (
    "Instance tensor check failed: bytes or string type shape batch size can only be 1"
)
UNKNOWN_DTYPE = "Tensor check failed: input data type proto::MS_UNKNOWN invalid"
# Ours: upstream's worker crashes on a non-UTF-8 MS_STRING.
NOT_UTF8 = "Instance tensor check failed: string type input is not valid UTF-8 text"
# Ours: upstream attaches shared memory this server does not have.
SHARED_MEMORY = "Tensor check failed: input shared memory data is not supported by this server"


def format_shape(dims: Sequence[int]) -> str:
    """A shape as upstream prints it: ``[2, 3]``, ``[]``; over 16 dims, the first 16 and a
    count of the rest (ours: a text's length does not grow with what a client sent)."""
    shown = ", ".join(str(d) for d in dims[:_SHOWN_DIMS])
    if len(dims) > _SHOWN_DIMS:
        shown += f", ... ({len(dims)} dims)"
    return "[" + shown + "]"


def text_shape_invalid(dims: Sequence[int]) -> str:
    return (
        "Instance tensor check failed: bytes or string type input  shape can only be (1,) or "
        f"empty, but given shape is {format_shape(dims)}"
    )


def shape_invalid(dims: Sequence[int]) -> str:
    return f"Tensor check failed: input  shape {format_shape(dims)} invalid"


def too_many_dims(count: int) -> str:
    """Ours: a shape of more than MAX_DIMS dims."""
    return f"Tensor check failed: input shape has {count} dims, more than the limit {MAX_DIMS}"


def too_many_elements(dims: Sequence[int]) -> str:
    """Ours: a shape whose element count (zero dims left out) no array can hold."""
    return (
        f"Tensor check failed: input  shape {format_shape(dims)} invalid, its element count is "
        "too large for any tensor"
    )


def data_size_invalid(size: int) -> str:
    return f"Tensor check failed: input data size {size} invalid"


# -- per-instance: model-style input checks (code 2), a stage that raised (code 3) ------------


def size_mismatch(index: int, given: int, expected: int) -> str:
    return f"Given model input {index} size {given} not match the size {expected} defined in model"


def dtype_mismatch(index: int, given: DType, expected: DType) -> str:
    return (
        f"Given model input {index} data type {given.msi_name} not match the data type "
        f"{expected.msi_name} defined in model"
    )


def stage_error_text(servable: str, function: str, method: str, stage: int, detail: str) -> str:
    """Upstream's text for a Python stage that raised (code 3)."""
    return (
        f"Call Function '{servable}.{function}' Failed, method: '{method}', "
        f"stage index(begin with 1): {stage}, error msg: {detail}"
    )


def no_output(name: str) -> str:
    """Ours (code 3): the method's outcome lacks a declared output."""
    return f"Serving Error: the method returned no output {name}"


def bad_output(name: str, detail: str) -> str:
    """Ours (code 3): an output value that cannot go on the wire."""
    return f"Serving Error: output {name}: {detail}"


def internal_error(detail: object) -> str:
    """Ours (code 3): a bug of the server itself, answered rather than dropped."""
    return f"Serving Error: internal error: {detail}"


__all__ = [
    "FAILED",
    "INVALID_INPUTS",
    "MAX_DIMS",
    "MAX_ERROR_BYTES",
    "NOT_UTF8",
    "SERVABLE_UNAVAILABLE",
    "SHARED_MEMORY",
    "SUCCESS",
    "SYSTEM_ERROR",
    "TEXT_VALUE_COUNT",
    "UNKNOWN_DTYPE",
    "bad_output",
    "data_size_invalid",
    "dtype_mismatch",
    "format_shape",
    "input_check_failed",
    "internal_error",
    "method_unavailable",
    "missing_input",
    "no_instances",
    "no_output",
    "queue_full",
    "servable_unavailable",
    "shape_invalid",
    "size_mismatch",
    "spec_repr",
    "stage_error_text",
    "text_shape_invalid",
    "too_many_dims",
    "too_many_elements",
    "truncate",
]

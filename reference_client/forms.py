"""The client testee protocol's value forms (docs/client-conformance.md): exact, JSON-able. No I/O.

A value crosses JSON as one of these one-key objects (docs/client-conformance.md, "Values"):

========================================================  =========================================
form                                                      meaning
========================================================  =========================================
``{"array": {"dtype": D, "shape": [..], "data": B64}}``   the client's n-d array; data
                                                          little-endian, C order; shape ``[]``
                                                          is a 0-d array
``{"scalar": {"dtype": D, "data": B64}}``                 the client's typed scalar (numpy's in
                                                          Python)
``{"int": "123"}``                                        the language's integer, as decimal text
``{"float": "1.5" | "nan" | "inf" | "-inf" | "-0.0"}``    the language's double
``{"bool": true}``                                        the language's boolean
``{"str": "..."}``                                        text
``{"bytes": B64}``                                        raw bytes
``{"list": [FORM, ...]}``                                 results only: several ``bytes_val``
========================================================  =========================================

D is one of the 12 numeric dtype names of :data:`DTYPE_NAMES` (numpy's spelling). Both
directions live here: Python/numpy values <-> forms (the harness builds calls and reads results
with them; the reference client's testee uses them too), forms <-> the tensors a correct client
puts on the wire, and a canonical key so that two forms are compared exactly (bit patterns, NaN
payloads, -0.0), never by ``==``.

Why here: the forms are the testee protocol's, spoken by reference_client.testee and by the
harness's client driver. The harness may import the client's package (reference_client <-
conformance) and never the reverse, so this is the one place both reach without an upward import.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from protos import codec
from protos import ms_service_pb2 as pb

Form = dict[str, Any]

# numpy's names for the wire's numeric dtypes, in the enum's order.
DTYPE_NAMES: tuple[str, ...] = tuple(
    str(d.numpy.name) for d in codec.NUMERIC_DTYPES if d.numpy is not None
)
_NUMPY_BY_NAME: dict[str, np.dtype] = {
    str(d.numpy.name): d.numpy for d in codec.NUMERIC_DTYPES if d.numpy is not None
}
KINDS = ("array", "scalar", "int", "float", "bool", "str", "bytes", "list", "error")


class FormError(ValueError):
    """A JSON value that is not a well-formed value form."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise FormError(f"base64 data must be a JSON string, got {text!r}")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise FormError(f"not base64: {text[:40]!r}") from exc


def numpy_dtype(name: Any) -> np.dtype:
    found = _NUMPY_BY_NAME.get(name) if isinstance(name, str) else None
    if found is None:
        raise FormError(f"unknown dtype {name!r}: one of {', '.join(DTYPE_NAMES)}")
    return found


def float_text(value: float) -> str:
    """A double as the float form's text: repr round-trips every finite double exactly."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(float(value))


# ---------------------------------------------------------------------------------------------
# Python / numpy values <-> forms


def to_form(value: Any) -> Form:
    """A Python or numpy value as its form (bool before int: bool is an int subclass)."""
    if isinstance(value, np.ndarray):
        array = _little_endian(value)
        return {
            "array": {
                "dtype": array.dtype.name,
                "shape": [int(d) for d in array.shape],
                "data": b64(array.tobytes()),
            }
        }
    if isinstance(value, np.generic) and not isinstance(value, np.str_ | np.bytes_):
        array = _little_endian(np.asarray(value))
        return {"scalar": {"dtype": array.dtype.name, "data": b64(array.tobytes())}}
    if isinstance(value, bool):
        return {"bool": value}
    if isinstance(value, int):
        return {"int": str(int(value))}
    if isinstance(value, float):
        return {"float": float_text(value)}
    if isinstance(value, str):
        return {"str": str(value)}
    if isinstance(value, bytes):
        return {"bytes": b64(bytes(value))}
    if isinstance(value, list):
        return {"list": [to_form(item) for item in value]}
    raise FormError(f"no value form for {type(value).__name__}")


def _little_endian(array: np.ndarray) -> np.ndarray:
    try:
        wire = codec.dtype_of_numpy(array.dtype)
    except codec.CodecError as exc:
        raise FormError(str(exc)) from None
    assert wire.numpy is not None
    # astype, not ascontiguousarray: that one turns a 0-d array into a 1-d one. tobytes()
    # writes C order whatever the strides.
    return np.asarray(array).astype(wire.numpy, copy=False)


def _one_key(form: Any) -> tuple[str, Any]:
    if not isinstance(form, Mapping) or len(form) != 1:
        raise FormError(f"a value form is an object with exactly one key, got {form!r:.80}")
    ((kind, body),) = form.items()
    if kind not in KINDS:
        raise FormError(f"unknown value form {kind!r}: one of {', '.join(KINDS)}")
    return kind, body


def from_form(form: Any) -> Any:
    """A form as the Python value the reference client takes or returns.

    array -> numpy array, scalar -> numpy scalar, int/float/bool/str/bytes -> Python's own,
    list -> list. FormError for anything malformed.
    """
    kind, body = _one_key(form)
    if kind == "array":
        if not isinstance(body, Mapping):
            raise FormError("array: expected an object with dtype, shape and data")
        dtype = numpy_dtype(body.get("dtype"))
        shape = body.get("shape")
        if not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
        ):
            raise FormError(f"array: shape must be a list of non-negative ints, got {shape!r}")
        data = unb64(body.get("data"))
        count = codec.element_count(shape)
        if len(data) != count * dtype.itemsize:
            raise FormError(
                f"array: {len(data)} data bytes for shape {shape} of {dtype.name} "
                f"(expected {count * dtype.itemsize})"
            )
        return np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    if kind == "scalar":
        if not isinstance(body, Mapping):
            raise FormError("scalar: expected an object with dtype and data")
        dtype = numpy_dtype(body.get("dtype"))
        data = unb64(body.get("data"))
        if len(data) != dtype.itemsize:
            raise FormError(f"scalar: {len(data)} data bytes for {dtype.name}")
        return np.frombuffer(data, dtype=dtype)[0]
    if kind == "int":
        if not isinstance(body, str):
            raise FormError(f"int: decimal text expected, got {body!r}")
        try:
            return int(body, 10)
        except ValueError:
            raise FormError(f"int: not decimal text: {body!r}") from None
    if kind == "float":
        if not isinstance(body, str):
            raise FormError(f"float: text expected, got {body!r}")
        try:
            return float(body)
        except ValueError:
            raise FormError(f"float: not a number: {body!r}") from None
    if kind == "bool":
        if not isinstance(body, bool):
            raise FormError(f"bool: true or false expected, got {body!r}")
        return body
    if kind == "str":
        if not isinstance(body, str):
            raise FormError(f"str: a JSON string expected, got {body!r}")
        return body
    if kind == "bytes":
        return unb64(body)
    if kind == "list":
        if not isinstance(body, list):
            raise FormError("list: a JSON array expected")
        return [from_form(item) for item in body]
    raise FormError("error forms are not values")


def canonical(form: Any) -> Any:
    """A hashable key that is equal for two forms exactly when they denote the same value.

    Arrays and scalars by dtype, shape and data bytes; floats by their bit pattern (so NaN equals
    NaN, and -0.0 differs from 0.0); ints by value. FormError if malformed.
    """
    kind, body = _one_key(form)
    if kind == "error":
        return ("error", str(body))
    value = from_form(form)
    if kind in ("array", "scalar"):
        array = np.asarray(value)
        return (kind, array.dtype.name, tuple(array.shape), array.tobytes())
    if kind == "float":
        return ("float", np.float64(value).tobytes())
    if kind == "list":
        return ("list", tuple(canonical(item) for item in body))
    return (kind, value)


def describe(form: Any, limit: int = 160) -> str:
    """A short human description of a form for failure messages."""
    try:
        kind, body = _one_key(form)
        if kind in ("array", "scalar"):
            value = np.asarray(from_form(form))
            text = (
                f"{kind} {value.dtype.name}{list(value.shape)} {np.array2string(value.ravel()[:8])}"
            )
        else:
            text = f"{kind} {body!r}"
    except FormError:
        text = repr(form)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------------
# Forms <-> the wire


def tensor_to_form(tensor: pb.Tensor) -> Form:
    """What a correct client's result holds for one reply output tensor.

    Numeric -> an array with the wire dims (``[]`` a 0-d array); MS_STRING -> str, MS_BYTES ->
    bytes, each a list when the tensor carries several ``bytes_val``.
    """
    if tensor.dtype in (codec.STRING.code, codec.BYTES.code):
        kind = "str" if tensor.dtype == codec.STRING.code else "bytes"
        items: list[Form] = [
            {"str": bytes(raw).decode("utf-8")} if kind == "str" else {"bytes": b64(bytes(raw))}
            for raw in tensor.bytes_val
        ]
        return items[0] if len(items) == 1 else {"list": items}
    return to_form(codec.tensor_to_array(tensor))


def array_tensor(array: np.ndarray) -> pb.Tensor:
    return codec.array_to_tensor(array)


__all__ = [
    "DTYPE_NAMES",
    "KINDS",
    "Form",
    "FormError",
    "array_tensor",
    "b64",
    "canonical",
    "describe",
    "float_text",
    "from_form",
    "numpy_dtype",
    "tensor_to_form",
    "to_form",
    "unb64",
]

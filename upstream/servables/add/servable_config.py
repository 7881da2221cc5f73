"""The kit's ``add`` servable (version 1) as Python stages on the real MindSpore Serving.

conformance-kit.md §1 describes ``add_common`` as a *model* with two float32 [2,2] inputs.
A model stage needs MindSpore and a device, which a CPU-only upstream cannot load, so this
file makes the model's per-instance checks (byte size first, then dtype, input by input) in a
Python stage with upstream's own texts. Upstream reports a raising Python stage with code 3 and
its stage prefix, where a model answers code 2 with the bare text: docs/upstream.md lists what
that changes.
"""

import numpy as np
from mindspore_serving.server import register

_EXPECTED_BYTES = 16  # float32 [2, 2]
_NAMES = {
    np.dtype(np.bool_): "kMSI_Bool",
    np.dtype(np.int8): "kMSI_Int8",
    np.dtype(np.uint8): "kMSI_Uint8",
    np.dtype(np.int16): "kMSI_Int16",
    np.dtype(np.uint16): "kMSI_Uint16",
    np.dtype(np.int32): "kMSI_Int32",
    np.dtype(np.uint32): "kMSI_Uint32",
    np.dtype(np.int64): "kMSI_Int64",
    np.dtype(np.uint64): "kMSI_Uint64",
    np.dtype(np.float16): "kMSI_Float16",
    np.dtype(np.float32): "kMSI_Float32",
    np.dtype(np.float64): "kMSI_Float64",
}


def _size_and_type(value):
    if isinstance(value, str):
        return 0, "kMSI_String"
    if isinstance(value, bytes):
        return 0, "kMSI_Bytes"
    array = np.asarray(value)
    return array.nbytes, _NAMES.get(array.dtype, str(array.dtype))


def _check_model_inputs(*values):
    for index, value in enumerate(values):
        size, type_name = _size_and_type(value)
        if size != _EXPECTED_BYTES:
            raise RuntimeError(
                f"Given model input {index} size {size} not match the size {_EXPECTED_BYTES} "
                "defined in model"
            )
        if type_name != "kMSI_Float32":
            raise RuntimeError(
                f"Given model input {index} data type {type_name} not match the data type "
                "kMSI_Float32 defined in model"
            )


def add_common_stage(x1, x2):
    _check_model_inputs(x1, x2)
    # A model compares byte sizes, never shapes: any 4 float32 elements make a [2, 2].
    return np.asarray(x1).reshape(2, 2) + np.asarray(x2).reshape(2, 2)


def add_cast_stage(x1, x2):
    x1 = np.asarray(x1)
    x2 = np.asarray(x2)
    if x1.shape != x2.shape:
        raise RuntimeError(f"x1 shape {list(x1.shape)} and x2 shape {list(x2.shape)} differ")
    with np.errstate(all="ignore"):
        return x1.astype(np.float32) + x2.astype(np.float32)


@register.register_method(output_names=["y"])
def add_common(x1, x2):
    y = register.add_stage(add_common_stage, x1, x2, outputs_count=1)
    return y


@register.register_method(output_names=["y"])
def add_cast(x1, x2):
    y = register.add_stage(add_cast_stage, x1, x2, outputs_count=1)
    return y

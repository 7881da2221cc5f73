import numpy as np

from protos import codec


def test_placeholder_roundtrip():
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert np.array_equal(codec.tensor_to_array(codec.array_to_tensor(arr)), arr)

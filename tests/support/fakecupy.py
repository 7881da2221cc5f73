"""A strict stand-in for the ``cupy`` module, for machines without a GPU (tests only).

``protos.arrays.use_device_module(fakecupy)`` puts it where the seam would import CuPy (the
``fake_device`` fixture in tests/conftest.py does that). Its ``ndarray`` keeps its data in a
private host array that stands for device memory, and behaves as ``cupy.ndarray`` does
(cupy/_core/core.pyx) wherever host and device meet:

* no implicit conversion to NumPy: ``__array__`` raises CuPy's TypeError, so ``np.asarray(x)``,
  ``np.array(x)`` and anything built on them fail; there is no buffer protocol, so
  ``np.frombuffer(x)`` and ``memoryview(x)`` fail too;
* a ``numpy.ndarray`` operand of an operator, a ufunc or a function here raises
  ``TypeError: Unsupported type <class 'numpy.ndarray'>`` (Python and NumPy scalars are fine);
  a NumPy ufunc or function on device arrays runs this module's one of the same name (as CuPy's
  ``__array_ufunc__`` and ``__array_function__`` do), and fails where there is none;
* explicit transfers work and are counted in ``TRANSFERS``: ``asarray``/``array`` of host data
  (host to device); ``get``, ``asnumpy``, ``tolist``, ``tobytes``, ``item`` and what CuPy
  implements through ``get`` (``int()``, ``float()``, ``complex()``, ``bool()``, ``bytes()``,
  ``repr``, ``str``, ``format``, pickling) (device to host); iteration, ``len``, indexing and
  another library's device array (read through its CUDA array interface, as CuPy reads it)
  stay on the device;
* only names CuPy has exist, and only those the project uses: anything else is an
  AttributeError, as on CuPy (e.g. there is no ``errstate``: CuPy has ``cupyx.errstate``);
* dtypes CuPy lacks (object, strings, datetimes, long double) raise ValueError as in CuPy;
* no floating-point warnings: a GPU raises none.
"""

from __future__ import annotations

import builtins
import functools
import sys
import threading
import warnings
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np

IMPLICIT_CONVERSION = (
    "Implicit conversion to a NumPy array is not allowed. "
    "Please use `.get()` to construct a NumPy array explicitly."
)
_SUPPORTED_DTYPE_CHARS = "?bhilqBHILQefdFD"  # CuPy's: bool, integers, floats, complex


@dataclass
class Transfers:
    """Host<->device copies since the last ``reset``; ``log`` names each (direction, shape)."""

    host_to_device: int = 0
    device_to_host: int = 0
    log: list[tuple[str, tuple[int, ...], str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, direction: str, array: np.ndarray) -> None:
        with self._lock:  # servables run in the server's worker threads
            if direction == "h2d":
                self.host_to_device += 1
            else:
                self.device_to_host += 1
            self.log.append((direction, tuple(array.shape), array.dtype.name))

    def reset(self) -> None:
        with self._lock:
            self.host_to_device = self.device_to_host = 0
            self.log.clear()

    def counts(self) -> tuple[int, int]:
        """(host_to_device, device_to_host)."""
        return self.host_to_device, self.device_to_host


TRANSFERS = Transfers()
_ALLOCATIONS: weakref.WeakValueDictionary[int, np.ndarray] = weakref.WeakValueDictionary()

# --- dtypes and constants: CuPy re-exports NumPy's -------------------------------------------

bool_ = np.bool_
int8, int16, int32, int64 = np.int8, np.int16, np.int32, np.int64
uint8, uint16, uint32, uint64 = np.uint8, np.uint16, np.uint32, np.uint64
float16, float32, float64 = np.float16, np.float32, np.float64
complex64, complex128 = np.complex64, np.complex128
dtype = np.dtype
inf, nan, pi, newaxis = np.inf, np.nan, np.pi, np.newaxis


def _allocated(memory: np.ndarray) -> np.ndarray:
    """``memory``, its allocation noted: what a CUDA array interface pointer may point into."""
    root = memory
    while isinstance(root.base, np.ndarray):
        root = root.base
    _ALLOCATIONS[id(root)] = root
    return memory


def _checked_dtype(value: Any) -> np.dtype[Any]:
    resolved = np.dtype(value)
    if resolved.char not in _SUPPORTED_DTYPE_CHARS:
        raise ValueError(f"Unsupported dtype {resolved}")
    return resolved


def _is_scalar(value: Any) -> bool:
    return isinstance(value, bool | int | float | complex | np.generic)


def _operand(value: Any) -> Any:
    """What a kernel gets for one argument: device memory or a scalar; never host arrays."""
    if isinstance(value, ndarray):
        return value._memory
    if _is_scalar(value):
        return value
    raise TypeError(f"Unsupported type {type(value)}")


class ndarray:
    """An array on the fake device: ``_memory`` is a host array no caller may see."""

    __array_priority__ = 100
    __slots__ = ("_memory",)
    _memory: np.ndarray

    def __init__(
        self,
        shape: Any,
        dtype: Any = float,
        memptr: Any = None,
        strides: Any = None,
        order: Any = "C",
    ) -> None:
        if memptr is not None or strides is not None:
            raise NotImplementedError("fakecupy.ndarray: memptr/strides are not supported")
        self._memory = _allocated(np.empty(shape, _checked_dtype(dtype), order=order))

    @classmethod
    def _wrap(cls, memory: Any) -> ndarray:
        array = object.__new__(cls)
        array._memory = _allocated(np.asarray(memory))
        return array

    # --- attributes ----------------------------------------------------------------------------

    @property
    def __cuda_array_interface__(self) -> dict[str, Any]:
        # The pointer is a host address standing for device memory: only this module reads it.
        memory = self._memory
        return {
            "shape": memory.shape,
            "typestr": memory.dtype.str,
            "descr": memory.dtype.descr,
            "stream": 1,
            "version": 3,
            "strides": None if memory.flags.c_contiguous else memory.strides,
            "data": (memory.__array_interface__["data"][0] if memory.size else 0, False),
        }

    @property
    def shape(self) -> tuple[int, ...]:
        return self._memory.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._memory.dtype

    @property
    def ndim(self) -> int:
        return self._memory.ndim

    @property
    def size(self) -> int:
        return self._memory.size

    @property
    def nbytes(self) -> int:
        return self._memory.nbytes

    @property
    def itemsize(self) -> int:
        return self._memory.itemsize

    @property
    def strides(self) -> tuple[int, ...]:
        return self._memory.strides

    @property
    def flags(self) -> Any:
        return self._memory.flags

    @property
    def T(self) -> ndarray:
        return ndarray._wrap(self._memory.T)

    # --- device to host: explicit, counted -----------------------------------------------------

    def get(self, stream: Any = None, order: Any = "C", out: np.ndarray | None = None) -> Any:
        TRANSFERS.record("d2h", self._memory)
        if out is not None:
            if not isinstance(out, np.ndarray):
                raise TypeError("Only numpy.ndarray can be obtained fromcupy.ndarray")
            if out.dtype != self.dtype:
                raise TypeError(f"{out.dtype} array cannot be obtained from {self.dtype} array")
            if out.shape != self.shape:
                raise ValueError(
                    f"Shape mismatch. Expected shape: {self.shape}, actual shape: {out.shape}"
                )
            np.copyto(out, self._memory)
            return out
        return np.array(self._memory, order=order, copy=True)

    def item(self) -> Any:
        if self.size != 1:
            raise ValueError("can only convert an array of size 1 to a Python scalar")
        return self.get().item()

    def tolist(self) -> Any:
        return self.get().tolist()

    def tobytes(self, order: Any = "C") -> bytes:
        return self.get().tobytes(order)

    def __int__(self) -> int:
        return int(self.get())

    def __float__(self) -> float:
        return float(self.get())

    def __complex__(self) -> complex:
        return complex(self.get())

    def __bytes__(self) -> bytes:
        return bytes(self.get())

    def __bool__(self) -> bool:
        if self.size == 0:
            warnings.warn("The truth value of an empty array is ambiguous.", DeprecationWarning, 2)
            return False
        if self.size == 1:
            return bool(self.get())
        raise ValueError(
            "The truth value of an array with more than one element is ambiguous. "
            "Use a.any() or a.all()"
        )

    def __repr__(self) -> str:
        return repr(self.get())

    def __str__(self) -> str:
        return str(self.get())

    def __format__(self, format_spec: str) -> str:
        return format(self.get(), format_spec)

    def __reduce__(self) -> tuple[Any, ...]:
        return array, (self.get(),)

    # --- what CuPy refuses -----------------------------------------------------------------------

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise TypeError(IMPLICIT_CONVERSION)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method != "__call__":
            return NotImplemented
        inout = inputs
        if "out" in kwargs:
            out = kwargs["out"]
            if len(out) != 1:
                raise ValueError("The 'out' parameter must have exactly one array value")
            inout += out
            kwargs["out"] = out[0]
        ours = _UFUNCS.get(ufunc.__name__)
        if ours is None:
            return NotImplemented
        for value in inout:
            # A numpy.ndarray gets through to the ufunc, which raises "Unsupported type".
            if not (
                hasattr(value, "__cuda_array_interface__")
                or _is_scalar(value)
                or isinstance(value, np.ndarray)
            ):
                return NotImplemented
        return ours(*inputs, **kwargs)

    def __array_function__(
        self, func: Callable[..., Any], types: Sequence[type], args: Any, kwargs: Any
    ) -> Any:
        try:
            module = functools.reduce(getattr, func.__module__.split(".")[1:], _THIS)
            ours = getattr(module, func.__name__)
        except AttributeError:
            return NotImplemented
        if ours is func or any(t not in (ndarray, np.ndarray) for t in types):
            return NotImplemented
        return ours(*args, **kwargs)

    # --- containers: on the device -------------------------------------------------------------

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of unsized object")
        return int(self.shape[0])

    def __iter__(self) -> Iterator[ndarray]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def __getitem__(self, key: Any) -> ndarray:
        return ndarray._wrap(self._memory[_index(key)])

    def __setitem__(self, key: Any, value: Any) -> None:
        # CuPy copies a host array in only by ``x[:] = host``, same shape and dtype; any other
        # host value meets its kernels' "Unsupported type".
        if isinstance(key, slice) and key == slice(None) and isinstance(value, np.ndarray):
            if value.shape != self.shape or value.dtype != self.dtype:
                raise ValueError(
                    "copying a numpy.ndarray to a cupy.ndarray by empty slice assignment must "
                    "ensure arrays have same shape and dtype"
                )
            TRANSFERS.record("h2d", value)
            self._memory[...] = value
            return
        self._memory[_index(key)] = _operand(value)

    # --- methods that stay on the device -------------------------------------------------------

    def copy(self, order: Any = "C") -> ndarray:
        return ndarray._wrap(self._memory.copy(order=order))

    def astype(self, dtype: Any, order: Any = "K", copy: bool = True) -> ndarray:
        cast = self._memory.astype(_checked_dtype(dtype), order=order, copy=copy)
        return self if cast is self._memory else ndarray._wrap(cast)

    def reshape(self, *shape: Any, order: Any = "C") -> ndarray:
        return ndarray._wrap(self._memory.reshape(*shape, order=order))

    def ravel(self, order: Any = "C") -> ndarray:
        return ndarray._wrap(self._memory.ravel(order))

    def transpose(self, *axes: Any) -> ndarray:
        return ndarray._wrap(self._memory.transpose(*axes))

    def fill(self, value: Any) -> None:
        self._memory.fill(_operand(value))

    def sum(self, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> ndarray:
        return sum(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def mean(self, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> ndarray:
        return mean(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> ndarray:
        return amax(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis: Any = None) -> ndarray:
        return argmax(self, axis=axis)

    # --- operators -----------------------------------------------------------------------------

    def _binary(self, ufunc: Callable[..., Any], other: Any, reflected: bool = False) -> Any:
        if not (isinstance(other, ndarray | np.ndarray) or _is_scalar(other)):
            return NotImplemented
        return ufunc(other, self) if reflected else ufunc(self, other)

    def __add__(self, other: Any) -> Any:
        return self._binary(add, other)

    def __radd__(self, other: Any) -> Any:
        return self._binary(add, other, reflected=True)

    def __sub__(self, other: Any) -> Any:
        return self._binary(subtract, other)

    def __rsub__(self, other: Any) -> Any:
        return self._binary(subtract, other, reflected=True)

    def __mul__(self, other: Any) -> Any:
        return self._binary(multiply, other)

    def __rmul__(self, other: Any) -> Any:
        return self._binary(multiply, other, reflected=True)

    def __truediv__(self, other: Any) -> Any:
        return self._binary(true_divide, other)

    def __rtruediv__(self, other: Any) -> Any:
        return self._binary(true_divide, other, reflected=True)

    def __matmul__(self, other: Any) -> Any:
        return self._binary(matmul, other)

    def __rmatmul__(self, other: Any) -> Any:
        return self._binary(matmul, other, reflected=True)

    def __lt__(self, other: Any) -> Any:
        return self._binary(less, other)

    def __le__(self, other: Any) -> Any:
        return self._binary(less_equal, other)

    def __gt__(self, other: Any) -> Any:
        return self._binary(greater, other)

    def __ge__(self, other: Any) -> Any:
        return self._binary(greater_equal, other)

    def __eq__(self, other: object) -> Any:
        return self._binary(equal, other)

    def __ne__(self, other: object) -> Any:
        return self._binary(not_equal, other)

    __hash__ = None  # type: ignore[assignment]

    def __neg__(self) -> ndarray:
        return negative(self)

    def __pos__(self) -> ndarray:
        return self

    def __abs__(self) -> ndarray:
        return absolute(self)

    def __iadd__(self, other: Any) -> ndarray:
        return add(self, other, out=self)

    def __isub__(self, other: Any) -> ndarray:
        return subtract(self, other, out=self)

    def __imul__(self, other: Any) -> ndarray:
        return multiply(self, other, out=self)

    def __itruediv__(self, other: Any) -> ndarray:
        return true_divide(self, other, out=self)


def _index(key: Any) -> Any:
    """An index for device memory: device index arrays stay on the device; host index arrays
    are copied to it (as CuPy does)."""
    if isinstance(key, tuple):
        return tuple(_index(part) for part in key)
    if isinstance(key, ndarray):
        return key._memory
    if isinstance(key, np.ndarray | list):
        host = np.asarray(key)
        TRANSFERS.record("h2d", host)
        return host
    return key


# --- host <-> device ---------------------------------------------------------------------------


def array(
    obj: Any, dtype: Any = None, copy: bool = True, order: Any = "K", ndmin: int = 0
) -> ndarray:
    """A device array; host data cross once (counted), device data stay (another library's
    device array, read through its CUDA array interface, too)."""
    if isinstance(obj, ndarray):
        return obj.astype(obj.dtype if dtype is None else dtype, copy=copy)
    if hasattr(obj, "__cuda_array_interface__"):
        return ndarray._wrap(_foreign(obj.__cuda_array_interface__)).astype(
            obj.__cuda_array_interface__["typestr"] if dtype is None else dtype, copy=copy
        )
    host = np.array(obj, dtype=dtype, order=order, ndmin=ndmin)
    _checked_dtype(host.dtype)
    TRANSFERS.record("h2d", host)
    return ndarray._wrap(host.copy())  # its own memory: later host writes must not show


class _HostView:
    """Fake device memory described by a CUDA array interface, as NumPy's array interface."""

    def __init__(self, interface: dict[str, Any], owner: np.ndarray) -> None:
        self.__array_interface__ = {**interface, "version": 3}
        self.owner = owner  # keeps the memory alive while NumPy reads it


def _foreign(interface: dict[str, Any]) -> np.ndarray:
    """A copy, on the fake device, of memory another object exposes by the CUDA array
    interface; only memory of this fake device can be read (anything else is refused)."""
    if "data" not in interface:
        raise TypeError("Unsupported type: a CUDA array interface without data")
    dtype = np.dtype(interface["typestr"])
    shape = tuple(interface["shape"])
    if 0 in shape:
        return np.empty(shape, dtype)
    strides = interface.get("strides") or None
    pointer = interface["data"][0]
    if strides:  # the bytes the elements span, from the first element either way
        reach = [(n - 1) * st for n, st in zip(shape, strides, strict=True)]
        # builtins: this module's sum, min and max are CuPy's
        low = pointer + builtins.sum(builtins.min(r, 0) for r in reach)
        high = pointer + builtins.sum(builtins.max(r, 0) for r in reach) + dtype.itemsize
    else:
        low, high = pointer, pointer + int(np.prod(shape)) * dtype.itemsize
    for owner in list(_ALLOCATIONS.values()):
        start = owner.__array_interface__["data"][0]
        if start <= low and high <= start + owner.nbytes:
            view = {"shape": shape, "typestr": dtype.str, "data": (pointer, False)}
            return np.array(_HostView({**view, "strides": strides}, owner), copy=True)
    raise ValueError("the CUDA array interface points outside this fake device's memory")


def asarray(a: Any, dtype: Any = None, order: Any = None) -> ndarray:
    return array(a, dtype=dtype, copy=False, order="K" if order is None else order)


def asnumpy(a: Any, stream: Any = None, order: Any = "C", out: Any = None) -> np.ndarray:
    if isinstance(a, ndarray):
        return a.get(stream=stream, order=order, out=out)
    if hasattr(a, "__cuda_array_interface__"):
        return array(a).get(stream=stream, order=order, out=out)
    return np.asarray(a, order=order)


def get_array_module(*args: Any) -> ModuleType:
    return _THIS if any(isinstance(arg, ndarray) for arg in args) else np


# --- creation on the device (no transfer) ------------------------------------------------------


def empty(shape: Any, dtype: Any = float, order: Any = "C") -> ndarray:
    return ndarray(shape, dtype, order=order)


def zeros(shape: Any, dtype: Any = float, order: Any = "C") -> ndarray:
    return ndarray._wrap(np.zeros(shape, _checked_dtype(dtype), order=order))


def ones(shape: Any, dtype: Any = float, order: Any = "C") -> ndarray:
    return ndarray._wrap(np.ones(shape, _checked_dtype(dtype), order=order))


def full(shape: Any, fill_value: Any, dtype: Any = None, order: Any = "C") -> ndarray:
    created = np.full(shape, _operand(fill_value), dtype, order=order)
    _checked_dtype(created.dtype)
    return ndarray._wrap(created)


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None) -> ndarray:
    created = (
        np.arange(start, stop, step, dtype=dtype)
        if stop is not None
        else np.arange(start, step=step, dtype=dtype)
    )
    _checked_dtype(created.dtype)
    return ndarray._wrap(created)


def ascontiguousarray(a: Any, dtype: Any = None) -> ndarray:
    memory = _device_only(a)
    return ndarray._wrap(np.ascontiguousarray(memory, dtype=dtype))


# --- kernels: device arrays and scalars in, device arrays out -----------------------------------


def _device_only(a: Any) -> np.ndarray:
    if not isinstance(a, ndarray):
        raise TypeError(f"Argument 'a' has incorrect type (expected cupy.ndarray, got {type(a)})")
    return a._memory


def _kernel(name: str, compute: Callable[..., Any]) -> Callable[..., Any]:
    """A CuPy ufunc over device memory: ``out=`` must be a device array."""

    def run(*args: Any, out: Any = None, **kwargs: Any) -> Any:
        memories = [_operand(arg) for arg in args]
        if out is not None:
            if not isinstance(out, ndarray):
                raise TypeError(f"Output argument type must be cupy.ndarray, got {type(out)}")
            kwargs["out"] = out._memory
        with np.errstate(all="ignore"):  # a GPU raises no floating-point warnings
            result = compute(*memories, **kwargs)
        return out if out is not None else ndarray._wrap(result)

    run.__name__ = name
    return run


add = _kernel("add", np.add)
subtract = _kernel("subtract", np.subtract)
multiply = _kernel("multiply", np.multiply)
true_divide = divide = _kernel("true_divide", np.true_divide)
negative = _kernel("negative", np.negative)
absolute = abs = _kernel("absolute", np.absolute)
maximum = _kernel("maximum", np.maximum)
minimum = _kernel("minimum", np.minimum)
exp = _kernel("exp", np.exp)
sqrt = _kernel("sqrt", np.sqrt)
less = _kernel("less", np.less)
less_equal = _kernel("less_equal", np.less_equal)
greater = _kernel("greater", np.greater)
greater_equal = _kernel("greater_equal", np.greater_equal)
equal = _kernel("equal", np.equal)
not_equal = _kernel("not_equal", np.not_equal)
matmul = _kernel("matmul", np.matmul)
_UFUNCS: dict[str, Callable[..., Any]] = {
    f.__name__: f
    for f in (add, subtract, multiply, true_divide, negative, absolute, maximum, minimum, exp,
              sqrt, less, less_equal, greater, greater_equal, equal, not_equal, matmul)
}  # fmt: skip


def _reduction(name: str, compute: Callable[..., Any]) -> Callable[..., Any]:
    def run(a: Any, axis: Any = None, **kwargs: Any) -> ndarray:
        with np.errstate(all="ignore"):
            return ndarray._wrap(compute(_device_only(a), axis=axis, **kwargs))

    run.__name__ = name
    return run


sum = _reduction("sum", np.sum)
mean = _reduction("mean", np.mean)
amax = max = _reduction("amax", np.amax)
amin = min = _reduction("amin", np.amin)
argmax = _reduction("argmax", np.argmax)
argmin = _reduction("argmin", np.argmin)


def reshape(a: ndarray, newshape: Any, order: Any = "C") -> ndarray:
    return _wrap_device(a).reshape(newshape, order=order)


def transpose(a: ndarray, axes: Any = None) -> ndarray:
    return ndarray._wrap(np.transpose(_device_only(a), axes))


def _wrap_device(a: Any) -> ndarray:
    _device_only(a)
    return a


def _device_sequence(arrays: Sequence[Any]) -> list[np.ndarray]:
    if not all(isinstance(a, ndarray) for a in arrays):
        raise TypeError("Only cupy arrays can be concatenated")
    return [a._memory for a in arrays]


def stack(arrays: Sequence[ndarray], axis: int = 0) -> ndarray:
    return ndarray._wrap(np.stack(_device_sequence(arrays), axis=axis))


def concatenate(arrays: Sequence[ndarray], axis: int = 0) -> ndarray:
    return ndarray._wrap(np.concatenate(_device_sequence(arrays), axis=axis))


def pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> ndarray:
    kwargs = {key: _operand(value) for key, value in kwargs.items()}
    return ndarray._wrap(np.pad(_device_only(array), pad_width, mode=mode, **kwargs))  # type: ignore[call-overload]


def _as_strided(x: ndarray, shape: Any = None, strides: Any = None) -> ndarray:
    view = np.lib.stride_tricks.as_strided(_device_only(x), shape=shape, strides=strides)
    return ndarray._wrap(view)


lib = SimpleNamespace(stride_tricks=SimpleNamespace(as_strided=_as_strided))


class _Device:
    def synchronize(self) -> None:
        """Nothing runs asynchronously on the fake device."""


cuda = SimpleNamespace(Device=_Device, is_available=lambda: True)
_THIS = sys.modules[__name__]

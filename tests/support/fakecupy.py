"""A strict stand-in for the ``cupy`` module, for machines without a GPU (tests only).

``reference_client.arrays.use_device_module(fakecupy)`` puts it where the seam would import CuPy
(the ``fake_device`` fixture in tests/conftest.py does that). Its ``ndarray`` keeps its data in a
private host array that stands for device memory, and behaves as ``cupy.ndarray`` does with
CuPy's default settings wherever host and device meet. docs/fake-device.md lists each behaviour
with its source in CuPy's documentation or code; tests/test_fake_device_table.py checks the
fake against that table row by row. In short:

* no implicit conversion to NumPy: ``__array__`` raises CuPy's TypeError, so ``np.asarray(x)``,
  ``np.array(x)`` and anything built on them fail; there is no buffer protocol, so
  ``np.frombuffer(x)`` and ``memoryview(x)`` fail too;
* a ``numpy.ndarray`` operand of an operator, a ufunc or a function here raises
  ``TypeError: Unsupported type <class 'numpy.ndarray'>`` (Python and NumPy scalars are fine);
  a NumPy ufunc (``__call__``, ``reduce``, ``accumulate``, ``outer``) or function on device
  arrays runs this module's one of the same name (as CuPy's ``__array_ufunc__`` and
  ``__array_function__`` do), and fails where there is none;
* assignment: ``x[basic index] = value`` fills with a scalar (or a 0-d host array) and refuses
  any other host array with ValueError, ``x[:] = host`` included (CuPy copies that only under
  ``CUPY_EXPERIMENTAL_SLICE_COPY=1``, off by default); ``x[index array] = host`` copies the
  host values to the device first (counted);
* explicit transfers work and are counted in ``TRANSFERS``: ``asarray``/``array``/``frombuffer``/
  ``fromstring`` of host data (host to device; big-endian data arrive little-endian, as on a
  GPU); ``get``, ``asnumpy``, ``tolist``, ``tobytes``, ``item`` and what CuPy implements through
  ``get`` (``int()``, ``float()``, ``complex()``, ``bool()``, ``bytes()``, ``repr``, ``str``,
  ``format``, pickling) (device to host); iteration, ``len``, indexing and another library's
  device array (read through its CUDA array interface, as CuPy reads it) stay on the device;
* device work is asynchronous: every kernel (and upload) is queued in ``TRANSFERS.pending``
  until ``cuda.Device().synchronize()`` or a copy to the host waits for it; ``host_clock``, a
  benchmark's clock on this device, refuses to read the time while work is queued (on a GPU
  that reading would time the launches, not the work); ``TRANSFERS.kernels`` counts the
  kernels by the dtype they produce;
* only names CuPy has exist, and only those the project uses: anything else is an
  AttributeError, as on CuPy (e.g. there is no ``errstate``: CuPy has ``cupyx.errstate``);
* dtypes CuPy lacks (object, strings, datetimes, long double) and big-endian dtypes for device
  memory raise ValueError as in CuPy; ``.flags`` is CuPy's (C/F contiguity and ownership only);
* no floating-point warnings: a GPU raises none.
"""

from __future__ import annotations

import builtins
import functools
import sys
import threading
import time
import warnings
import weakref
from collections import Counter
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


class UnsynchronizedTimingError(RuntimeError):
    """The host clock was read while device work was still queued."""


@dataclass
class Transfers:
    """What the fake device did since the last ``reset``: host<->device copies (``log`` names
    each: direction, shape, dtype), kernels by the dtype they produce, and work still queued."""

    host_to_device: int = 0
    device_to_host: int = 0
    log: list[tuple[str, tuple[int, ...], str]] = field(default_factory=list)
    kernels: Counter[str] = field(default_factory=Counter)
    pending: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, direction: str, array: np.ndarray) -> None:
        with self._lock:  # servables run in the server's worker threads
            if direction == "h2d":
                self.host_to_device += 1
                self.pending += 1  # an upload is queued like a kernel (CuPy's default)
            else:
                self.device_to_host += 1
                self.pending = 0  # get() waits for the stream
            self.log.append((direction, tuple(array.shape), array.dtype.name))

    def launch(self, dtype: np.dtype[Any]) -> None:
        with self._lock:
            self.kernels[dtype.name] += 1
            self.pending += 1

    def synchronize(self) -> None:
        with self._lock:
            self.pending = 0

    def reset(self) -> None:
        with self._lock:
            self.host_to_device = self.device_to_host = self.pending = 0
            self.log.clear()
            self.kernels.clear()

    def counts(self) -> tuple[int, int]:
        """(host_to_device, device_to_host)."""
        return self.host_to_device, self.device_to_host


TRANSFERS = Transfers()
_ALLOCATIONS: weakref.WeakValueDictionary[int, np.ndarray] = weakref.WeakValueDictionary()


def host_clock() -> float:
    """``time.perf_counter()``, refused while device work is queued: a benchmark that reads the
    clock before synchronizing would time the kernel launches, not the work (tests put this in
    place of a benchmark's clock)."""
    queued = TRANSFERS.pending
    if queued:
        raise UnsynchronizedTimingError(
            f"the clock was read with {queued} device operation(s) still queued: "
            "synchronize the device first"
        )
    return time.perf_counter()


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
    """A dtype device memory may have: CuPy's kinds, little-endian (a GPU's byte order)."""
    resolved = np.dtype(value)
    if resolved.char not in _SUPPORTED_DTYPE_CHARS:
        raise ValueError(f"Unsupported dtype {resolved}")
    if resolved.byteorder == ">":
        raise ValueError(f"Unsupported dtype {resolved} with big-endian byte-order")
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


def _fill_value(value: Any, dtype: np.dtype[Any]) -> Any:
    """What ``fill`` (and basic-index assignment) accepts: a scalar, a 0-d host array (read as
    its item) or a 0-d device array."""
    if isinstance(value, ndarray):
        if value.shape != ():
            raise ValueError("non-scalar cupy.ndarray cannot be used for fill")
        return value._memory.astype(dtype)
    if isinstance(value, np.ndarray):
        if value.shape != ():
            raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
        return value.astype(dtype).item()
    return _operand(value)


class Flags:
    """CuPy's ``ndarray.flags``: contiguity and ownership, nothing else of NumPy's flags."""

    __slots__ = ("_c", "_f", "_own")

    def __init__(self, c_contiguous: bool, f_contiguous: bool, owndata: bool) -> None:
        self._c, self._f, self._own = c_contiguous, f_contiguous, owndata

    @property
    def c_contiguous(self) -> bool:
        return self._c

    @property
    def f_contiguous(self) -> bool:
        return self._f

    @property
    def owndata(self) -> bool:
        return self._own

    @property
    def fnc(self) -> bool:
        return self._f and not self._c

    @property
    def forc(self) -> bool:
        return self._f or self._c

    def __getitem__(self, name: str) -> bool:
        known = {"C_CONTIGUOUS": self._c, "F_CONTIGUOUS": self._f, "OWNDATA": self._own}
        if name not in known:
            raise KeyError(f"{name} is not defined for cupy.ndarray.flags")
        return known[name]

    def __repr__(self) -> str:
        names = ("C_CONTIGUOUS", "F_CONTIGUOUS", "OWNDATA")
        return "\n".join(f"  {name} : {self[name]}" for name in names)


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
        """A view of device memory (no device work)."""
        array = object.__new__(cls)
        array._memory = _allocated(np.asarray(memory))
        return array

    @classmethod
    def _made(cls, memory: Any) -> ndarray:
        """The result of device work: one kernel queued."""
        made = cls._wrap(memory)
        TRANSFERS.launch(made.dtype)
        return made

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
    def flags(self) -> Flags:
        memory = self._memory
        return Flags(memory.flags.c_contiguous, memory.flags.f_contiguous, memory.base is None)

    @property
    def T(self) -> ndarray:
        return self if self.ndim < 2 else ndarray._wrap(self._memory.T)

    # --- device to host: explicit, counted -----------------------------------------------------

    def get(self, stream: Any = None, order: Any = "C", out: np.ndarray | None = None) -> Any:
        if out is not None:
            if not isinstance(out, np.ndarray):
                raise TypeError("Only numpy.ndarray can be obtained fromcupy.ndarray")
            if out.dtype != self.dtype:
                raise TypeError(f"{out.dtype} array cannot be obtained from {self.dtype} array")
            if out.shape != self.shape:
                raise ValueError(
                    f"Shape mismatch. Expected shape: {self.shape}, actual shape: {out.shape}"
                )
            TRANSFERS.record("d2h", self._memory)
            np.copyto(out, self._memory)
            return out
        TRANSFERS.record("d2h", self._memory)
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
        if method not in _UFUNC_METHODS:
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
        function = ours if method == "__call__" else getattr(ours, method, None)
        if function is None:
            return NotImplemented
        for value in inout:
            # A numpy.ndarray gets through to the ufunc, which raises "Unsupported type".
            if not (
                hasattr(value, "__cuda_array_interface__")
                or _is_scalar(value)
                or isinstance(value, np.ndarray)
            ):
                return NotImplemented
        if ours.name in _COMPARISONS:  # CuPy's workaround for numpy/numpy#12142
            inputs = tuple(
                v.item() if isinstance(v, np.ndarray) and v.ndim == 0 else v for v in inputs
            )
        return function(*inputs, **kwargs)

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
        index = _index(key)
        picked = self._memory[index]
        return ndarray._made(picked) if _advanced(index) else ndarray._wrap(picked)

    def __setitem__(self, key: Any, value: Any) -> None:
        index = _index(key)
        if isinstance(value, ndarray):
            self._memory[index] = value._memory  # a device copy, broadcast
        elif _advanced(index):
            # CuPy's scatter makes any other value a device array first: host data go up.
            self._memory[index] = array(value, dtype=self.dtype)._memory
        else:
            # Basic indexing fills the view, which takes only a scalar. With CuPy's default
            # settings that holds for ``x[:] = host`` too (CUPY_EXPERIMENTAL_SLICE_COPY is off).
            self._memory[index] = _fill_value(value, self.dtype)
        TRANSFERS.launch(self.dtype)

    # --- methods that stay on the device -------------------------------------------------------

    def copy(self, order: Any = "C") -> ndarray:
        return ndarray._made(self._memory.copy(order=order))

    def astype(self, dtype: Any, order: Any = "K", copy: bool = True) -> ndarray:
        cast = self._memory.astype(_checked_dtype(dtype), order=order, copy=copy)
        return self if cast is self._memory else ndarray._made(cast)

    def reshape(self, *shape: Any, order: Any = "C") -> ndarray:
        return ndarray._wrap(self._memory.reshape(*shape, order=order))

    def ravel(self, order: Any = "C") -> ndarray:
        return ndarray._wrap(self._memory.ravel(order))

    def transpose(self, *axes: Any) -> ndarray:
        return ndarray._wrap(self._memory.transpose(*axes))

    def fill(self, value: Any) -> None:
        self._memory.fill(_fill_value(value, self.dtype))
        TRANSFERS.launch(self.dtype)

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


def _advanced(index: Any) -> bool:
    """Whether an index (from ``_index``) holds an index array: CuPy's scatter/gather path."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(part, np.ndarray) for part in parts)


# --- host <-> device ---------------------------------------------------------------------------


def array(
    obj: Any, dtype: Any = None, copy: bool = True, order: Any = "K", ndmin: int = 0
) -> ndarray:
    """A device array; host data cross once (counted, queued), device data stay (another
    library's device array, read through its CUDA array interface, too)."""
    if isinstance(obj, ndarray):
        return obj.astype(obj.dtype if dtype is None else dtype, copy=copy)
    if hasattr(obj, "__cuda_array_interface__"):
        return ndarray._made(_foreign(obj.__cuda_array_interface__)).astype(
            obj.__cuda_array_interface__["typestr"] if dtype is None else dtype, copy=copy
        )
    host = np.array(obj, dtype=dtype, order=order, ndmin=ndmin)
    if host.dtype.char not in _SUPPORTED_DTYPE_CHARS:
        raise ValueError(f"Unsupported dtype {host.dtype}")
    host = host.astype(host.dtype.newbyteorder("<"), copy=False)  # a GPU is little-endian
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
    dtype = _checked_dtype(interface["typestr"])
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


def frombuffer(*args: Any, **kwargs: Any) -> ndarray:
    """NumPy's frombuffer, then one copy to the device (as CuPy implements it)."""
    return asarray(np.frombuffer(*args, **kwargs))


def fromstring(*args: Any, **kwargs: Any) -> ndarray:
    """NumPy's fromstring, then one copy to the device (as CuPy implements it)."""
    return asarray(np.fromstring(*args, **kwargs))


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
    return ndarray._made(np.zeros(shape, _checked_dtype(dtype), order=order))


def ones(shape: Any, dtype: Any = float, order: Any = "C") -> ndarray:
    return ndarray._made(np.ones(shape, _checked_dtype(dtype), order=order))


def full(shape: Any, fill_value: Any, dtype: Any = None, order: Any = "C") -> ndarray:
    created = np.full(shape, _operand(fill_value), dtype, order=order)
    _checked_dtype(created.dtype)
    return ndarray._made(created)


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None) -> ndarray:
    created = (
        np.arange(start, stop, step, dtype=dtype)
        if stop is not None
        else np.arange(start, step=step, dtype=dtype)
    )
    _checked_dtype(created.dtype)
    return ndarray._made(created)


def ascontiguousarray(a: Any, dtype: Any = None) -> ndarray:
    memory = _device_only(a)
    contiguous = np.ascontiguousarray(memory, dtype=dtype)
    return a if contiguous is memory else ndarray._made(contiguous)


# --- kernels: device arrays and scalars in, device arrays out -----------------------------------


def _device_only(a: Any) -> np.ndarray:
    if not isinstance(a, ndarray):
        raise TypeError(f"Argument 'a' has incorrect type (expected cupy.ndarray, got {type(a)})")
    return a._memory


class _Ufunc:
    """A CuPy ufunc over device memory: ``out=`` must be a device array. Of the ufunc methods,
    ``reduce`` and ``accumulate`` exist for add and multiply only (others raise CuPy's
    NotImplementedError) and ``outer`` for all; ``at`` and ``reduceat`` are not modelled."""

    def __init__(self, name: str, compute: np.ufunc) -> None:
        self.name = self.__name__ = name
        self._compute = compute

    def __repr__(self) -> str:
        return f"<ufunc '{self.name}'>"

    def __call__(self, *args: Any, out: Any = None, **kwargs: Any) -> Any:
        memories = [_operand(arg) for arg in args]
        if out is not None:
            if not isinstance(out, ndarray):
                raise TypeError(f"Output argument type must be cupy.ndarray, got {type(out)}")
            kwargs["out"] = out._memory
        with np.errstate(all="ignore"):  # a GPU raises no floating-point warnings
            result = self._compute(*memories, **kwargs)
        if out is not None:
            TRANSFERS.launch(out.dtype)
            return out
        return ndarray._made(result)

    def outer(self, a: Any, b: Any, **kwargs: Any) -> Any:
        # CuPy makes both operands device arrays first: host operands are copied up.
        left, right = array(a), array(b)
        rank = left.ndim
        left = left.reshape(left.shape + (1,) * right.ndim)
        return self(left, right.reshape((1,) * rank + right.shape), **kwargs)

    def _reduction(self, method: str, a: Any, out: Any, **kwargs: Any) -> ndarray:
        if self.name not in ("add", "multiply"):
            raise NotImplementedError(f"`cupy_{self.name}.{method}` is not supported yet")
        with np.errstate(all="ignore"):
            result = getattr(self._compute, method)(_device_only(a), **kwargs)
        if out is None:
            return ndarray._made(result)
        _device_only(out)[...] = result
        TRANSFERS.launch(out.dtype)
        return out

    def reduce(
        self, a: Any, axis: Any = 0, dtype: Any = None, out: Any = None, keepdims: bool = False
    ) -> ndarray:
        return self._reduction("reduce", a, out, axis=axis, dtype=dtype, keepdims=keepdims)

    def accumulate(self, a: Any, axis: int = 0, dtype: Any = None, out: Any = None) -> ndarray:
        return self._reduction("accumulate", a, out, axis=axis, dtype=dtype)


add = _Ufunc("add", np.add)
subtract = _Ufunc("subtract", np.subtract)
multiply = _Ufunc("multiply", np.multiply)
true_divide = divide = _Ufunc("true_divide", np.true_divide)
negative = _Ufunc("negative", np.negative)
absolute = abs = _Ufunc("absolute", np.absolute)
maximum = _Ufunc("maximum", np.maximum)
minimum = _Ufunc("minimum", np.minimum)
exp = _Ufunc("exp", np.exp)
sqrt = _Ufunc("sqrt", np.sqrt)
less = _Ufunc("less", np.less)
less_equal = _Ufunc("less_equal", np.less_equal)
greater = _Ufunc("greater", np.greater)
greater_equal = _Ufunc("greater_equal", np.greater_equal)
equal = _Ufunc("equal", np.equal)
not_equal = _Ufunc("not_equal", np.not_equal)
matmul = _Ufunc("matmul", np.matmul)
_UFUNCS: dict[str, _Ufunc] = {
    f.name: f
    for f in (add, subtract, multiply, true_divide, negative, absolute, maximum, minimum, exp,
              sqrt, less, less_equal, greater, greater_equal, equal, not_equal, matmul)
}  # fmt: skip
_UFUNCS["divide"] = true_divide  # NumPy 2 names true_divide "divide"
_UFUNC_METHODS = ("__call__", "outer", "at", "reduce", "accumulate", "reduceat")
_COMPARISONS = ("greater", "greater_equal", "less", "less_equal", "equal", "not_equal")


def _reduction(name: str, compute: Callable[..., Any]) -> Callable[..., Any]:
    def run(a: Any, axis: Any = None, **kwargs: Any) -> ndarray:
        with np.errstate(all="ignore"):
            return ndarray._made(compute(_device_only(a), axis=axis, **kwargs))

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
    return ndarray._made(np.stack(_device_sequence(arrays), axis=axis))


def concatenate(arrays: Sequence[ndarray], axis: int = 0) -> ndarray:
    return ndarray._made(np.concatenate(_device_sequence(arrays), axis=axis))


def pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> ndarray:
    kwargs = {key: _operand(value) for key, value in kwargs.items()}
    return ndarray._made(np.pad(_device_only(array), pad_width, mode=mode, **kwargs))  # type: ignore[call-overload]


def _as_strided(x: ndarray, shape: Any = None, strides: Any = None) -> ndarray:
    view = np.lib.stride_tricks.as_strided(_device_only(x), shape=shape, strides=strides)
    return ndarray._wrap(view)


lib = SimpleNamespace(stride_tricks=SimpleNamespace(as_strided=_as_strided))


class _Device:
    def synchronize(self) -> None:
        """Wait for every queued kernel and copy (on the fake: forget them)."""
        TRANSFERS.synchronize()


cuda = SimpleNamespace(Device=_Device, is_available=lambda: True)
_THIS = sys.modules[__name__]

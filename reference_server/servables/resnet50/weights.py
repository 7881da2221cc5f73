"""ResNet-50 parameters by torchvision's state_dict names: the expected table, the seeded
initialisation, and loading/validating an ``.npz`` file of real weights.

Everything here is host NumPy float32; moving to a device happens in ``model``.
"""

from __future__ import annotations

import os
import pathlib
import zipfile
from collections.abc import Iterator, Mapping

import numpy as np

# (blocks, bottleneck width, stride of the first block) for layer1..layer4; expansion 4.
STAGES: tuple[tuple[int, int, int], ...] = ((3, 64, 1), (4, 128, 2), (6, 256, 2), (3, 512, 2))
EXPANSION = 4
CLASSES = 1000
BN_SUFFIXES = ("weight", "bias", "running_mean", "running_var")
# Present in a torchvision state_dict, meaningless for inference: accepted and ignored.
IGNORED_SUFFIX = ".num_batches_tracked"
SEED = 20211129

StateDict = Mapping[str, np.ndarray]


Entry = tuple[str, tuple[int, ...]]


def _conv_and_bn(conv: str, bn: str, shape: tuple[int, ...]) -> Iterator[Entry]:
    yield f"{conv}.weight", shape
    for suffix in BN_SUFFIXES:
        yield f"{bn}.{suffix}", (shape[0],)


def _expected() -> Iterator[Entry]:
    yield from _conv_and_bn("conv1", "bn1", (64, 3, 7, 7))
    inplanes = 64
    for stage, (blocks, width, _stride) in enumerate(STAGES, start=1):
        out = width * EXPANSION
        for block in range(blocks):
            prefix = f"layer{stage}.{block}"
            yield from _conv_and_bn(f"{prefix}.conv1", f"{prefix}.bn1", (width, inplanes, 1, 1))
            yield from _conv_and_bn(f"{prefix}.conv2", f"{prefix}.bn2", (width, width, 3, 3))
            yield from _conv_and_bn(f"{prefix}.conv3", f"{prefix}.bn3", (out, width, 1, 1))
            if block == 0:
                down = f"{prefix}.downsample"
                yield from _conv_and_bn(f"{down}.0", f"{down}.1", (out, inplanes, 1, 1))
            inplanes = out
    yield "fc.weight", (CLASSES, inplanes)
    yield "fc.bias", (CLASSES,)


# name -> shape, in torchvision's state_dict order.
EXPECTED_SHAPES: dict[str, tuple[int, ...]] = dict(_expected())


def seeded_state_dict(seed: int = SEED) -> dict[str, np.ndarray]:
    """torchvision's initialisation, deterministically seeded.

    Convolutions: kaiming-normal, fan_out, ReLU gain (std sqrt(2 / fan_out)); batch norm
    gamma 1, beta 0, running mean 0, running var 1; fc: uniform(+-1/sqrt(fan_in)) for weight and
    bias (nn.Linear's default).
    """
    rng = np.random.default_rng(seed)
    state: dict[str, np.ndarray] = {}
    for name, shape in EXPECTED_SHAPES.items():
        if name.startswith("fc."):
            bound = 1.0 / np.sqrt(EXPECTED_SHAPES["fc.weight"][1])
            values = rng.uniform(-bound, bound, size=shape).astype(np.float32)
        elif len(shape) == 4:
            fan_out = shape[0] * shape[2] * shape[3]
            values = rng.standard_normal(size=shape, dtype=np.float32)
            values *= np.float32(np.sqrt(2.0 / fan_out))
        elif name.endswith((".weight", ".running_var")):
            values = np.ones(shape, np.float32)
        else:
            values = np.zeros(shape, np.float32)
        state[name] = values
    return state


def _problems(found: Mapping[str, tuple[tuple[int, ...], np.dtype]]) -> str | None:
    """The first thing wrong with a file's (name -> (shape, dtype)) table, as one phrase."""
    names = {n for n in found if not n.endswith(IGNORED_SUFFIX)}
    missing = [n for n in EXPECTED_SHAPES if n not in names]
    if missing:
        return f"missing arrays: {_some(missing)}"
    extra = sorted(names - EXPECTED_SHAPES.keys())
    if extra:
        return f"unexpected arrays: {_some(extra)}"
    for name, expected in EXPECTED_SHAPES.items():
        shape, dtype = found[name]
        if tuple(shape) != expected:
            return f"array {name} has shape {tuple(shape)}, expected {expected}"
        if dtype.kind != "f":
            return f"array {name} has dtype {dtype}, expected a floating type"
    return None


def _some(names: list[str], shown: int = 4) -> str:
    more = f" (and {len(names) - shown} more)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _header_table(path: pathlib.Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """name -> (shape, dtype) read from each member's .npy header, without loading the data."""
    table: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if not member.endswith(".npy"):
                raise ValueError(f"member {member!r} is not an .npy array")
            with archive.open(member) as stream:
                version = np.lib.format.read_magic(stream)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
            table[member.removesuffix(".npy")] = (shape, dtype)
    return table


def validate_weights_file(path: str | os.PathLike[str]) -> None:
    """Raise ValueError (one line) unless ``path`` is an .npz of ResNet-50 weights.

    Reads only the archive's directory and each array's header: fast enough for start-up.
    """
    path = pathlib.Path(path)
    prefix = f"resnet50 weights {path}"
    if not path.is_file():
        raise ValueError(f"{prefix}: no such file")
    try:
        table = _header_table(path)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"{prefix}: not a NumPy .npz archive ({_one_line(exc)})") from exc
    problem = _problems(table)
    if problem is not None:
        raise ValueError(f"{prefix}: {problem}")


def load_weights_file(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The float32 state dict in an .npz file (validated first); ValueError if unusable."""
    validate_weights_file(path)
    prefix = f"resnet50 weights {path}"
    try:
        with np.load(path, allow_pickle=False) as archive:
            state = {n: np.asarray(archive[n], dtype=np.float32) for n in EXPECTED_SHAPES}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"{prefix}: cannot read ({_one_line(exc)})") from exc
    for name, values in state.items():
        if not np.isfinite(values).all():
            raise ValueError(f"{prefix}: array {name} holds NaN or infinite values")
    return state


def check_state_dict(state: StateDict) -> None:
    """ValueError unless ``state`` has exactly the expected names and shapes."""
    problem = _problems({n: (np.shape(a), np.asarray(a).dtype) for n, a in state.items()})
    if problem is not None:
        raise ValueError(f"resnet50 state dict: {problem}")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


__all__ = [
    "BN_SUFFIXES",
    "CLASSES",
    "EXPANSION",
    "EXPECTED_SHAPES",
    "IGNORED_SUFFIX",
    "SEED",
    "STAGES",
    "Entry",
    "StateDict",
    "check_state_dict",
    "load_weights_file",
    "seeded_state_dict",
    "validate_weights_file",
]

"""The fake device against its table of behaviours (docs/fake-device.md), row by row.

Each row of the table names CuPy 14's behaviour (with its source) and holds the code that shows
it; here that code runs on the fake, as written, and must give the row's outcome: ``ok`` with
the copies counted each way, or the exception named (and a part of its text). A row without
its behaviour in the fake, or a behaviour changed without its row, fails here. Where a GPU
works (``-m gpu``), the same rows run on real CuPy too (all but those about the fake's clock
and those the table marks "Not modelled"), the outcome compared without the copy counts.
"""

from __future__ import annotations

import pathlib
import re
from dataclasses import dataclass

import numpy as np
import pytest
from support import fakecupy
from support.devices import Device

TABLE = pathlib.Path(__file__).resolve().parent.parent / "docs" / "fake-device.md"
HOST = np.arange(6, dtype=np.float32).reshape(2, 3)


@dataclass(frozen=True)
class Row:
    id: str
    code: str
    cupy: str
    outcome: str


def _rows() -> list[Row]:
    text = TABLE.read_text(encoding="utf-8")
    table = text.split("<!-- fake-device-table: start -->")[1].split("<!-- fake-device-table")[0]
    rows = []
    for line in table.strip().splitlines()[2:]:  # after the header and its rule
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == 5, line
        code = re.fullmatch(r"`(.+)`", cells[1])
        assert code is not None, f"the code cell of {cells[0]} is not one code span"
        rows.append(Row(cells[0], code.group(1), cells[2], cells[3]))
    return rows


ROWS = _rows()


def test_the_table_is_read_whole() -> None:
    ids = [row.id for row in ROWS]
    assert len(ids) == len(set(ids)) >= 30
    for needed in ("slice-copy-in", "frombuffer", "big-endian-upload", "flags", "ufunc-reduce"):
        assert needed in ids


def _outcome(device: Device, code: str) -> str:
    """Run ``code`` on ``device``; what it gave, in the table's terms."""
    d = device.xp.asarray(HOST)
    device.xp.cuda.Device().synchronize()
    names = {"cupy": device.xp, "numpy": np, "host": HOST.copy(), "d": d}
    names["clock"] = fakecupy.host_clock
    if device.transfers is not None:
        device.transfers.reset()
    try:
        exec(code, names)  # the table's own code
    except AssertionError:
        raise
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    if device.transfers is None:
        return "ok"  # real CuPy counts nothing
    up, down = device.transfers.counts()
    return f"ok h2d={up} d2h={down}"


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_the_device_behaves_as_the_table_says(device: Device, row: Row) -> None:
    if device.transfers is None and ("clock" in row.code or "Not modelled" in row.cupy):
        pytest.skip("a row about the fake's own model, not about CuPy")
    got = _outcome(device, row.code)
    if row.outcome.startswith("ok"):
        assert got == (row.outcome if device.transfers is not None else "ok")
    else:
        kind, _, text = row.outcome.partition(":")
        got_kind, _, got_text = got.partition(":")
        assert got_kind == kind, got
        assert text.strip() in got_text, got

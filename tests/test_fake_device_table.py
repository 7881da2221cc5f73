"""The fake device against its table of behaviours (docs/fake-device.md), row by row.

Each row of the table names CuPy 14's behaviour (with its source) and holds the code that shows
it; here that code runs on the fake, as written, and must give the row's outcome: ``ok`` with
the copies counted each way, or the exception named (and a part of its text). A row without
its behaviour in the fake, or a behaviour changed without its row, fails here.
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
        rows.append(Row(cells[0], code.group(1), cells[3]))
    return rows


ROWS = _rows()


def test_the_table_is_read_whole() -> None:
    ids = [row.id for row in ROWS]
    assert len(ids) == len(set(ids)) >= 30
    for needed in ("slice-copy-in", "frombuffer", "big-endian-upload", "flags", "ufunc-reduce"):
        assert needed in ids


def _outcome(code: str) -> str:
    """Run ``code`` on the fake; what it gave, in the table's terms."""
    d = fakecupy.asarray(HOST)
    fakecupy.cuda.Device().synchronize()
    fakecupy.TRANSFERS.reset()
    names = {
        "cupy": fakecupy,
        "numpy": np,
        "host": HOST.copy(),
        "d": d,
        "clock": fakecupy.host_clock,
    }
    try:
        exec(code, names)  # the table's own code, on the fake
    except AssertionError:
        raise
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    up, down = fakecupy.TRANSFERS.counts()
    return f"ok h2d={up} d2h={down}"


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_the_fake_behaves_as_its_table_says(fake_device: Device, row: Row) -> None:
    got = _outcome(row.code)
    if row.outcome.startswith("ok"):
        assert got == row.outcome
    else:
        kind, _, text = row.outcome.partition(":")
        got_kind, _, got_text = got.partition(":")
        assert got_kind == kind, got
        assert text.strip() in got_text, got

"""Twelve-character IDs (`cus_00000042`), built from 4-byte words so that millions cost little."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

ID_LENGTH = 12  # DuckDB inlines strings of up to 12 bytes
BLOCK = 10_000  # four digits a word

_FOUR_DIGITS = np.frombuffer(b"".join(f"{i:04d}".encode() for i in range(BLOCK)), dtype="<u4")


def _head_words(prefix: str) -> np.ndarray:
    """The first 4 bytes of an ID (the prefix and the leading digits), indexed by the number // 10**8."""
    if not 1 <= len(prefix) <= 4:
        raise ValueError(f"ID prefix {prefix!r} must have 1 to 4 characters")
    digits = 4 - len(prefix)
    heads = (prefix.encode() + (f"{i:0{digits}d}".encode() if digits else b"") for i in range(10**digits))
    return np.frombuffer(b"".join(heads), dtype="<u4")


def _check_fits(prefix: str, low: int, high: int) -> None:
    """Raise unless the numbers low .. high - 1 fit in the digits an ID with `prefix` has."""
    width = ID_LENGTH - len(prefix)
    if low < 0 or high > 10**width:
        raise ValueError(f"{prefix} numbers do not fit in {width} digits")


def _strings(words: np.ndarray) -> pa.Array:
    """A string array of `ID_LENGTH`-byte values, one row of three 4-byte words each."""
    count = len(words)
    offsets = np.arange(0, ID_LENGTH * (count + 1), ID_LENGTH, dtype=np.int32)
    return pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(words))


def ids(prefix: str, numbers: np.ndarray) -> pa.Array:
    """`prefix` + zero-padded numbers, 12 characters in all."""
    numbers = np.asarray(numbers, dtype=np.int64)
    if len(numbers):
        _check_fits(prefix, int(numbers.min()), int(numbers.max()) + 1)
    words = np.empty((len(numbers), 3), dtype=np.uint32)
    words[:, 0] = _head_words(prefix)[numbers // BLOCK**2]
    rest = numbers % BLOCK**2
    words[:, 1] = _FOUR_DIGITS[rest // BLOCK]
    words[:, 2] = _FOUR_DIGITS[rest % BLOCK]
    return _strings(words)


def sequential_ids(prefix: str, start: int, count: int) -> pa.Array:
    """IDs for start, start+1, ...; the same as `ids(prefix, arange)` but built with repeat/tile."""
    _check_fits(prefix, start, start + count)
    if count == 0:
        return pa.array([], pa.string())
    words = np.empty((count, 3), dtype=np.uint32)
    words[:, 2] = np.resize(np.roll(_FOUR_DIGITS, -(start % BLOCK)), count)
    # the upper 8 digits change every 10,000 numbers: repeat them over their runs
    blocks = np.arange(start // BLOCK, (start + count - 1) // BLOCK + 1, dtype=np.int64)
    run = np.full(len(blocks), BLOCK, dtype=np.int64)
    run[0] = min(count, BLOCK - start % BLOCK)
    if len(blocks) > 1:
        run[-1] = (start + count - 1) % BLOCK + 1
    words[:, 1] = np.repeat(_FOUR_DIGITS[blocks % BLOCK], run)
    words[:, 0] = np.repeat(_head_words(prefix)[blocks // BLOCK], run)
    return _strings(words)


@dataclass
class IdSequences:
    """Sequentially numbered IDs (orders, subscription items, usage events), numbered on across chunks."""

    used: dict[str, int] = field(default_factory=dict)  # prefix -> the last number handed out

    def take(self, prefix: str, count: int) -> pa.Array:
        """The next `count` IDs with `prefix`."""
        start = self.used.get(prefix, 0) + 1
        self.used[prefix] = start + count - 1
        return sequential_ids(prefix, start, count)

"""Small numpy / pyarrow helpers the table modules build their columns with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa

Rows = TypeVar("Rows", bound=Any)  # a dataclass whose fields are equal-length numpy arrays


def random_stream(seed: int, *keys: int) -> np.random.Generator:
    """The random stream for `seed` and a purpose (`keys`): the catalogue, a chunk, the planted rows."""
    return np.random.default_rng([seed & 0xFFFFFFFF, seed >> 32 & 0xFFFFFFFF, *keys])


def timestamps(seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Epoch seconds -> timestamp[us] (naive UTC), null where not `valid`."""
    micros = (np.asarray(seconds, dtype=np.int64) * 1_000_000).view("datetime64[us]")
    return pa.array(micros, type=pa.timestamp("us"), mask=None if valid is None else ~valid)


def money(values: np.ndarray, decimals: np.ndarray | int = 2, scale: int = 4) -> pa.Array:
    """Floats rounded to `decimals` places -> decimal128(18, scale), built directly from its 16-byte words."""
    values = np.asarray(values, dtype=np.float64)
    factor = 10.0 ** np.asarray(decimals)
    unscaled = (np.round(values * factor) * (10.0**scale / factor)).round().astype(np.int64)
    words = np.empty((len(unscaled), 2), dtype=np.int64)
    words[:, 0] = unscaled
    words[:, 1] = np.where(unscaled < 0, -1, 0)
    return pa.Array.from_buffers(pa.decimal128(18, scale), len(unscaled), [None, pa.py_buffer(words)])


def dictionary_column(values: Sequence[str] | pa.Array, index: np.ndarray,
                      valid: np.ndarray | None = None) -> pa.Array:
    """A dictionary-encoded string column: values[index] (null where not `valid`)."""
    dictionary = values if isinstance(values, pa.Array) else pa.array(list(values), pa.string())
    indices = pa.array(np.asarray(index, dtype=np.int32), mask=None if valid is None else ~valid)
    return pa.DictionaryArray.from_arrays(indices, dictionary)


def group_positions(counts: np.ndarray) -> np.ndarray:
    """Position within its group for np.repeat(arange(len(counts)), counts)."""
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(starts, counts)


def uniform_int(rng: np.random.Generator, low: np.ndarray | int, high: np.ndarray | int,
                size: int | None = None) -> np.ndarray:
    """Integers in [low, high) (high > low), vectorised over array bounds."""
    low = np.asarray(low, dtype=np.int64)
    high = np.asarray(high, dtype=np.int64)
    if size is None:
        size = int(np.broadcast(low, high).size)
    return low + (rng.random(size) * (high - low)).astype(np.int64)


def ceil_month(seconds: np.ndarray) -> np.ndarray:
    """The next 00:00 on a 1st of the month (the instant itself when it already is one)."""
    months = np.asarray(seconds, dtype=np.int64).astype("datetime64[s]").astype("datetime64[M]")
    floor = months.astype("datetime64[s]").astype(np.int64)
    following = (months + 1).astype("datetime64[s]").astype(np.int64)
    return np.where(seconds == floor, seconds, following)


def take_rows(rows: Rows, index: np.ndarray) -> Rows:
    """The same dataclass of arrays with every array indexed by `index` (a selection or an ordering)."""
    return replace(rows, **{column.name: getattr(rows, column.name)[index] for column in fields(rows)})


def concatenate_rows(parts: Sequence[Rows]) -> Rows:
    """One dataclass of arrays holding the rows of `parts` (all of one dataclass type) one after the other."""
    columns = fields(parts[0])
    return type(parts[0])(**{column.name: np.concatenate([getattr(part, column.name) for part in parts])
                             for column in columns})

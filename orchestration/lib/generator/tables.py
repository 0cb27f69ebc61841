"""Arrow tables in the contract's shape, and the versioned tables (contacts, orders) that carry older rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from orchestration.lib.contract import MONEY, RATE, TABLES_BY_NAME, TIMESTAMP

ARROW_TYPES = {
    "VARCHAR": pa.string(), "DATE": pa.date32(), "INTEGER": pa.int32(), "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_(), TIMESTAMP: pa.timestamp("us"),
    MONEY: pa.decimal128(18, 4), RATE: pa.decimal128(18, 8),
}


def contract_table(name: str, columns: dict[str, Any]) -> pa.Table:
    """A table with exactly the contract's columns, in its order and with its types."""
    spec = TABLES_BY_NAME[name]
    if set(columns) != set(spec.column_names):
        raise ValueError(f"{name}: columns {sorted(columns)} != contract {sorted(spec.column_names)}")
    arrays = []
    for column in spec.columns:
        array = columns[column.name]
        if not isinstance(array, pa.Array | pa.ChunkedArray):
            array = pa.array(array)
        wanted = ARROW_TYPES[column.type]
        if pa.types.is_dictionary(array.type) and wanted == pa.string():
            pass  # written as a dictionary page, read back as a plain string
        elif array.type != wanted:
            array = array.cast(wanted)
        arrays.append(array)
    return pa.table(arrays, names=list(spec.column_names))


def with_older_versions(current: int, older: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row picks for a versioned table: every current row, then the rows `older` again as older versions.

    Returns the picks (indexes into the current rows) and which of them are older versions.
    """
    rows = np.concatenate([np.arange(current), older])
    return rows, np.arange(len(rows)) >= current


@dataclass(frozen=True)
class VersionedTable:
    """A table whose latest versions come first (`current_rows` of them), then `superseded` older versions."""

    table: pa.Table
    current_rows: int
    superseded: int

"""Writing the landing directory: its layout, Parquet and CSV files, the dirty parts and the background writes."""

from __future__ import annotations

import csv
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from orchestration.lib.contract import TABLE_NAMES, TABLES_BY_NAME, Rule
from orchestration.lib.generator.catalogue.constants import HOUR

SMALL_TABLES = ("fx_rates", "products", "plans")
CHUNKED_TABLES = ("customers", "contacts", "orders", "order_items", "subscription_items", "usage_events")
FORMATS = ("parquet", "csv")
PARQUET_OPTIONS = {"compression": "snappy", "store_schema": False, "write_statistics": True}
ISO_Z = "%Y-%m-%dT%H:%M:%SZ"
ISO_PLUS_TWO = "%Y-%m-%dT%H:%M:%S+02:00"
OFFSET_COLUMNS = {"customers": ("created_at",), "orders": ("ordered_at", "delivered_at")}  # a few rows at +02:00
DIRTY_PART = "part-dirty.csv"


def prepare_output(out_dir: Path) -> None:
    """Create `out_dir` and remove every table entry and report in it (other files stay)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in TABLE_NAMES:
        for entry in (out_dir / name, out_dir / f"{name}.parquet", out_dir / f"{name}.csv"):
            if entry.is_dir():
                shutil.rmtree(entry)
            elif entry.exists():
                entry.unlink()
    (out_dir / "_generation.json").unlink(missing_ok=True)


def part_path(out_dir: Path, name: str, index: int, fmt: str) -> Path:
    """`<name>/part-<index>.<fmt>`, the index zero-padded to five digits."""
    return out_dir / name / f"part-{index:05d}.{fmt}"


def write_small_table(out_dir: Path, name: str, table: pa.Table, fmt: str, dirty: bool) -> None:
    """`<name>.<fmt>`, or with `dirty` `<name>/part-00000.<fmt>` (the folder also gets the dirty part)."""
    if dirty:
        (out_dir / name).mkdir()
        write_table(name, table, part_path(out_dir, name, 0, fmt), fmt)
    else:
        write_table(name, table, out_dir / f"{name}.{fmt}", fmt)


def write_table(name: str, table: pa.Table, path: Path, fmt: str) -> None:
    """Write `table` to `path` through a temporary file; Parquet dictionary-encodes all but single keys."""
    tmp = path.with_name(path.name + ".tmp")
    if fmt == "parquet":
        keys = TABLES_BY_NAME[name].key
        dictionary = [column for column in table.column_names if column not in keys or len(keys) > 1]
        pq.write_table(table, tmp, use_dictionary=dictionary, **PARQUET_OPTIONS)
    else:
        pacsv.write_csv(_csv_ready(name, table), tmp)
    tmp.replace(path)


def _csv_ready(name: str, table: pa.Table) -> pa.Table:
    """Timestamps as ISO 8601 text (a few at +02:00), dictionaries decoded; the rest as pyarrow writes it."""
    columns = []
    for column_name, column in zip(table.column_names, table.columns, strict=True):
        column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        if pa.types.is_timestamp(column.type):
            column = _iso_text(column, with_offsets=column_name in OFFSET_COLUMNS.get(name, ()))
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def _iso_text(column: pa.Array, with_offsets: bool) -> pa.Array:
    """Timestamps as `...Z` text; `with_offsets`, about 1 in 97 as the same instant at +02:00."""
    seconds = column.cast(pa.timestamp("s"))
    text = pc.strftime(seconds, format=ISO_Z)
    if not with_offsets:
        return text
    epoch = pc.cast(seconds, pa.int64()).to_numpy(zero_copy_only=False)
    offset = np.nan_to_num(epoch, nan=0).astype(np.int64) % 97 == 7
    shifted = pc.strftime(pc.add(seconds, pa.scalar(2 * HOUR, pa.duration("s"))), format=ISO_PLUS_TWO)
    return pc.if_else(pa.array(offset), shifted, text)


def write_dirty_part(out_dir: Path, name: str, rows: list[tuple[Rule, dict[str, str]]]) -> None:
    """`<name>/part-dirty.csv`: the planted rows as text, in the contract's column order."""
    columns = TABLES_BY_NAME[name].column_names
    with (out_dir / name / DIRTY_PART).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for _rule, row in rows:
            writer.writerow([row[column] for column in columns])


class PartWriter:
    """Writes the chunk parts on two background threads while the next chunk is generated.

    `wait_for_room()` blocks until fewer than `max_waiting` chunks are still being written, which bounds memory.
    Leaving the `with` block waits for every write (and raises the first error).
    """

    def __init__(self, out_dir: Path, fmt: str, max_waiting: int = 2) -> None:
        self.out_dir, self.fmt, self.max_waiting = out_dir, fmt, max_waiting
        self._pool = ThreadPoolExecutor(max_workers=2)
        self._pending: list[list[Future[None]]] = []

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        try:
            if error is None:
                self._wait(0)
        finally:
            self._pool.shutdown(wait=True)

    def wait_for_room(self) -> None:
        """Block until another chunk may be submitted."""
        self._wait(self.max_waiting - 1)

    def submit(self, index: int, tables: dict[str, pa.Table]) -> None:
        """Write part `index` of each table in the background."""
        self._pending.append([
            self._pool.submit(write_table, name, table, part_path(self.out_dir, name, index, self.fmt), self.fmt)
            for name, table in tables.items()
        ])

    def _wait(self, at_most: int) -> None:
        """Wait for the oldest chunks until at most `at_most` are still pending."""
        while len(self._pending) > at_most:
            for future in self._pending.pop(0):
                future.result()

"""A DuckDB warehouse and a Spark warehouse compared table by table, row for row.

Both sides are read into Python through Arrow (DuckDB's own, and pyspark's `toPandas` with Arrow), every value put
in one form: decimals and whole numbers as exact `Decimal`s (so money compares exactly, whatever scale each engine
gave a column), floats as floats (equal within 1e-9 relative), instants as naive UTC timestamps, lists and structs
as tuples. The rows of each table are sorted by those values and compared pair by pair. Meant for the parity test's
small warehouses: it holds both tables in memory.

    python -m orchestration.lib.spark.compare WAREHOUSE.duckdb SPARK_WAREHOUSE_DIR [SCHEMA ...]
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from pandas import NaT

from orchestration.lib.compare import TableDifference

SCHEMAS = ("raw", "quarantine", "superseded", "audit", "intermediate", "marts", "sync")
# What differs between any two runs by design: when, how fast and by which run; and the bookkeeping that stays in
# DuckDB on Spark (the volume history, the delivery ledger and log: see lib/spark/warehouse.py).
VOLATILE_COLUMNS = {
    "audit.load_counts": {"loaded_at", "seconds"},
    "audit.load_history": {"run_id", "loaded_at", "seconds"},
    "audit.landing_files": {"loaded_at"},
}
SKIP = frozenset({"audit.volume_history", "sync.delivery_ledger", "sync.delivery_log"})
# The DuckDB loader's own index of the keys it stored (repeated keys are found on it); Spark's loader needs none.
SKIP_PREFIXES = ("audit.key_hashes__",)
REL_TOL, ABS_TOL = 1e-9, 1e-12


def normal(value: Any) -> Any:
    """One form per value (see the module docstring)."""
    if value is None or value is NaT:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value.normalize() if value == value else None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(tz=None).replace(tzinfo=None)
    if isinstance(value, date | str):
        return value
    if isinstance(value, dict):
        return tuple((key, normal(item)) for key, item in sorted(value.items()))
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return normal(value.tolist())
    if isinstance(value, list | tuple):
        return tuple(normal(item) for item in value)
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime().replace(tzinfo=None)
    return value


def sort_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    def key(value: Any) -> tuple[int, Any]:
        if value is None:
            return (0, "")
        if isinstance(value, float):
            return (1, float(f"{value:.6e}"))
        if isinstance(value, Decimal):
            return (1, float(value))
        return (2, repr(value))

    return tuple(key(value) for value in row)


def values_equal(left: Any, right: Any) -> bool:
    if isinstance(left, float) or isinstance(right, float):
        if left is None or right is None:
            return left is right
        return math.isclose(float(left), float(right), rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if isinstance(left, tuple) and isinstance(right, tuple):
        return len(left) == len(right) and all(values_equal(a, b) for a, b in zip(left, right, strict=True))
    return left == right


def rows_of(frame: Any, columns: list[str]) -> list[tuple[Any, ...]]:
    records = frame[columns].to_dict("split")["data"] if columns else [() for _ in range(len(frame))]
    return sorted((tuple(normal(value) for value in record) for record in records), key=sort_key)


def compare_rows(table: str, left: list[tuple[Any, ...]], right: list[tuple[Any, ...]]) -> TableDifference:
    if len(left) != len(right):
        unequal = sum(1 for a, b in zip(left, right, strict=False) if not all(map(values_equal, a, b)))
        extra = abs(len(left) - len(right))
        return TableDifference(table, unequal + max(len(left) - len(right), 0),
                               unequal + max(len(right) - len(left), 0), note=f"{len(left):,} rows in DuckDB, "
                               f"{len(right):,} in Spark ({extra:,} apart)")
    unequal = sum(1 for a, b in zip(left, right, strict=True) if not all(map(values_equal, a, b)))
    return TableDifference(table, unequal, unequal)


def duckdb_tables(con: duckdb.DuckDBPyConnection, schemas: Iterable[str]) -> set[str]:
    rows = con.execute("select schema_name || '.' || table_name from duckdb_tables() where schema_name in "
                       "(select unnest(?::varchar[]))", [list(schemas)]).fetchall()
    return {row[0] for row in rows}


def spark_tables(spark: Any, schemas: Iterable[str]) -> set[str]:
    found = set()
    for schema in schemas:
        if not spark.catalog.databaseExists(schema):
            continue
        found |= {f"{schema}.{table.name}" for table in spark.catalog.listTables(schema)
                  if table.tableType != "VIEW" and not table.isTemporary and not table.name.endswith("__staged")}
    return found


def first_differences(table: str, left: list[tuple[Any, ...]], right: list[tuple[Any, ...]],
                      columns: list[str], limit: int = 3) -> list[str]:
    """The first unequal row pairs, column by column, for the message of a failing comparison."""
    found = []
    for a, b in zip(left, right, strict=False):
        cells = [f"{name}: {x!r} / {y!r}" for name, x, y in zip(columns, a, b, strict=True) if not values_equal(x, y)]
        if cells:
            found.append(f"{table}: " + "; ".join(cells))
        if len(found) >= limit:
            break
    return found


def compare(duckdb_file: Path, spark: Any, schemas: Sequence[str] = SCHEMAS,
            details: list[str] | None = None) -> list[TableDifference]:
    """One entry per table of `schemas` in either warehouse (but SKIP); `details` collects the first differences."""
    con = duckdb.connect(str(duckdb_file), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        in_duckdb = {table for table in duckdb_tables(con, schemas) - SKIP if not table.startswith(SKIP_PREFIXES)}
        in_spark = spark_tables(spark, schemas) - SKIP
        differences = []
        for table in sorted(in_duckdb | in_spark):
            if table not in in_duckdb or table not in in_spark:
                side = "DuckDB" if table not in in_duckdb else "Spark"
                differences.append(TableDifference(table, 0, 0, note=f"missing in {side}"))
                continue
            schema, name = table.split(".", 1)
            left = con.sql(f'select * from "{schema}"."{name}"').to_arrow_table().to_pandas()
            right = spark.table(table).toPandas()
            volatile = VOLATILE_COLUMNS.get(table, set())
            left_columns = [column for column in left.columns if column not in volatile]
            right_columns = [column for column in right.columns if column not in volatile]
            if sorted(left_columns) != sorted(right_columns):
                only = sorted(set(left_columns) ^ set(right_columns))
                differences.append(TableDifference(table, 0, 0, note=f"columns differ: {', '.join(only)}"))
                continue
            columns = sorted(left_columns)
            left_rows, right_rows = rows_of(left, columns), rows_of(right, columns)
            difference = compare_rows(table, left_rows, right_rows)
            if not difference.equal and details is not None:
                details += first_differences(table, left_rows, right_rows, columns)
            differences.append(difference)
        return differences
    finally:
        con.close()


def main(argv: Sequence[str] | None = None) -> int:
    from orchestration.lib.spark import session

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2:
        print("usage: python -m orchestration.lib.spark.compare WAREHOUSE.duckdb SPARK_DIR [SCHEMA ...]",
              file=sys.stderr)
        return 2
    schemas = args[2:] or SCHEMAS
    details: list[str] = []
    try:
        differences = compare(Path(args[0]), session.session(Path(args[1])), schemas, details)
    finally:
        session.stop()
    unequal = [difference for difference in differences if not difference.equal]
    for difference in unequal:
        print(difference.sentence())
    for line in details:
        print("  " + line)
    print(f"{len(differences) - len(unequal)} of {len(differences)} tables equal in {', '.join(schemas)}.")
    return 1 if unequal else 0


if __name__ == "__main__":
    sys.exit(main())

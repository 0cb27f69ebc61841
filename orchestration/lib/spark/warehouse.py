"""The DuckDB file beside a Spark warehouse: the pipeline's own bookkeeping, and views of the Spark tables.

On Spark the data (raw, quarantine, superseded, the loader's audit tables, every dbt model) lives in the Spark
warehouse and is written only by Spark: the loader and dbt-spark. Two things need what Parquet without Delta cannot
give, row-level updates inside a transaction: the delivery ledger (a record is written `pending` before its batch
leaves, then updated with the vendor's answer) and the volume history (a run's counts, set aside on request). They
stay in the DuckDB file the `--warehouse` option names, as on DuckDB. The gates, the Great Expectations suites, the
syncs and the run summary read the Spark tables from that file through read-only views over the tables' Parquet
files (`refresh_views`), so the same code reads both engines' tables, and no second JVM opens the metastore while
dbt-spark holds it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.lib import warehouse
from orchestration.lib.loader.sql import literal, quote

STAGED_SUFFIX = "__staged"


def table_directories(spark_dir: Path) -> dict[tuple[str, str], Path]:
    """(schema, table) -> the table's directory, for every table Spark has written under `spark_dir`/tables."""
    found: dict[tuple[str, str], Path] = {}
    root = spark_dir / "tables"
    if not root.is_dir():
        return found
    for database in sorted(root.glob("*.db")):
        for table in sorted(path for path in database.iterdir() if path.is_dir()):
            if not table.name.endswith(STAGED_SUFFIX) and not table.name.startswith((".", "_")):
                found[(database.name.removesuffix(".db"), table.name)] = table
    return found


def view_sql(con: duckdb.DuckDBPyConnection, directory: Path) -> str | None:
    """A select over the table's Parquet files, instants as naive UTC timestamps; None when it has no file yet."""
    if not any(directory.rglob("*.parquet")):
        return None
    partitioned = any(child.is_dir() and "=" in child.name for child in directory.iterdir())
    scan = (f"read_parquet({literal(str(directory / '**' / '*.parquet'))}, "
            f"hive_partitioning = {'true' if partitioned else 'false'}, union_by_name = true)")
    columns = con.execute(f"describe select * from {scan}").fetchall()
    items = [f"cast({quote(name)} as timestamp) as {quote(name)}" if type_ == "TIMESTAMP WITH TIME ZONE"
             else quote(name) for name, type_, *_ in columns]
    return f"select {', '.join(items)} from {scan}"


def refresh_views(con: duckdb.DuckDBPyConnection, spark_dir: Path) -> int:
    """A view per Spark table in the DuckDB file (replacing the previous ones); how many."""
    made = 0
    for (schema, table), directory in table_directories(spark_dir).items():
        sql = view_sql(con, directory)
        if sql is None:
            continue
        con.execute(f"create schema if not exists {quote(schema)}")
        con.execute(f"create or replace view {quote(schema)}.{quote(table)} as {sql}")
        made += 1
    return made


def refresh_views_of(warehouse_file: Path, spark_dir: Path) -> None:
    """`refresh_views` on the warehouse file, when it can be opened (else the reader says why it cannot read)."""
    try:
        con = warehouse.connect(warehouse_file)
    except warehouse.WarehouseError:
        return
    try:
        refresh_views(con, spark_dir)
    finally:
        con.close()

"""Finding a table's landing files and reading them with DuckDB's own CSV and Parquet readers.

Every row carries `_source_file` and `_source_row` (1 = the first data row of its file). CSV is read as text (the
contract's types are applied and checked afterwards, so a bad value quarantines a row instead of failing the
read) and staged once in a temporary table, since the load scans its source more than once; Parquet is read in
place with its own types.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.lib.contract import Table
from orchestration.lib.loader.sql import LandingError, duckdb_reason, literal, quote

READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
BOOKKEEPING = ("_source_file", "_source_row")


@dataclass(frozen=True)
class Source:
    """The rows of some landing files of one table: SQL to select them, each column's type, the extra columns."""

    sql: str
    types: dict[str, str]
    extras: list[str]
    files: list[Path]

    def type_of(self, column: str) -> str | None:
        return self.types.get(column)


def find_table_files(landing: Path, table: str) -> list[Path]:
    """The landing files of one table: `<table>.csv`, `<table>.parquet` or the parts in `<table>/`, by path."""
    candidates = [landing / f"{table}{suffix}" for suffix in READERS]
    files = [path for path in candidates if path.is_file()]
    folder = landing / table
    if folder.is_dir():
        files += [path for path in folder.iterdir() if path.is_file() and path.suffix.lower() in READERS]
    if not files:
        raise LandingError(
            f"The landing directory {landing} has no {table} table: expected {table}.csv, {table}.parquet "
            f"or a folder {table}/ of CSV or Parquet parts."
        )
    return sorted(files, key=str)  # path order is the file order that settles repeated keys


def _csv_sql(files: list[Path]) -> str:
    # One scan per file, so that `_source_row` is the row's position in its own file.
    scans = [
        f"select *, row_number() over () as _source_row from read_csv({literal(str(path))}, header = true, "
        "all_varchar = true, filename = '_source_file')"
        for path in files
    ]
    return " union all by name ".join(f"({scan})" for scan in scans)


def _parquet_sql(files: list[Path]) -> str:
    file_list = "[" + ", ".join(literal(str(path)) for path in files) + "]"
    return (
        f"select * exclude (file_row_number), file_row_number + 1 as _source_row "
        f"from read_parquet({file_list}, union_by_name = true, filename = '_source_file', file_row_number = true)"
    )


def _describe(con: duckdb.DuckDBPyConnection, sql: str, files: list[Path], table: str) -> dict[str, str]:
    try:
        rows = con.execute(f"describe {sql}").fetchall()
    except duckdb.Error as error:
        names = ", ".join(str(path) for path in files)
        raise LandingError(f"Could not read {names} for table {table}: {duckdb_reason(error)}.") from None
    return {name: type_ for name, type_, *_ in rows}


def _reader_sql(con: duckdb.DuckDBPyConnection, table: Table, reader: str, files: list[Path]) -> str:
    """SQL over the files of one reader; CSV is staged in a temporary table first (the load reads it again)."""
    if reader == "parquet":
        return _parquet_sql(files)
    stage = quote(f"_csv_{table.name}")
    try:
        con.execute(f"create or replace temp table {stage} as {_csv_sql(files)}")
    except duckdb.Error as error:
        names = ", ".join(str(path) for path in files)
        raise LandingError(f"Could not read {names} for table {table.name}: {duckdb_reason(error)}.") from None
    return f"select * from {stage}"


def _check_columns(table: Table, columns: dict[str, str], files: list[Path]) -> None:
    missing = [column.name for column in table.columns if column.name not in columns and column.default is None]
    if missing:
        names = ", ".join(str(path) for path in files)
        raise LandingError(
            f"{names} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"that the contract requires for table {table.name}."
        )


def read_source(con: duckdb.DuckDBPyConnection, table: Table, files: list[Path]) -> Source:
    """The rows of `files` with their types and extra columns; LandingError for an unreadable or short file."""
    groups: dict[str, list[Path]] = {}
    for path in files:
        groups.setdefault(READERS[path.suffix.lower()], []).append(path)
    sqls = {reader: _reader_sql(con, table, reader, paths) for reader, paths in groups.items()}
    described = {reader: _describe(con, sqls[reader], groups[reader], table.name) for reader in groups}
    for reader, columns in described.items():
        _check_columns(table, columns, groups[reader])
    extras: list[str] = []
    for columns in described.values():
        extras += [name for name in columns if name not in table.column_names and name not in BOOKKEEPING
                   and name not in extras]
    if len(described) == 1:
        ((reader, columns),) = described.items()
        return Source(sqls[reader], columns, extras, files)
    # Parquet and CSV parts together: bring every column to text so the parts union cleanly.
    wanted = list(table.column_names) + extras
    selects = []
    for reader, columns in described.items():
        items = [f"cast({quote(name)} as varchar) as {quote(name)}" if name in columns
                 else f"cast(null as varchar) as {quote(name)}" for name in wanted]
        selects.append(f"select {', '.join(items)}, _source_file, _source_row from ({sqls[reader]})")
    union = " union all by name ".join(f"({select})" for select in selects)
    return Source(union, dict.fromkeys(wanted, "VARCHAR"), extras, files)

"""Finding a table's landing files and reading them with DuckDB's own CSV and Parquet readers.

Every row carries `_source_file` and `_source_row` (1 = the first data row of its file). CSV is read as text (the
contract's types are applied and checked afterwards, so a bad value quarantines a row instead of failing the
read) and staged once in a temporary table, since the load scans its source more than once; Parquet is read in
place with its own types.

CSV is read as RFC 4180 says, never guessed: comma-separated, `"` quotes (doubled inside a quoted value), the first
line the header, UTF-8 (a byte-order mark is skipped), LF or CRLF line ends. DuckDB's sniffer is not asked: on an
awkward file it may pick another delimiter, stop honouring quotes or skip leading lines, which would misread the
file without a word. A file the reader cannot parse (an unterminated quote, a line with more or fewer fields than
the header, bytes that are not UTF-8) stops the load with one sentence naming the file and line. A header naming a
column twice, or naming one of the columns the loader adds itself (`_source_file`, `_rule`, ...), stops it too:
either would make a value ambiguous.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.lib.contract import Table
from orchestration.lib.loader.sql import LandingError, duckdb_reason, literal, quote

READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
BOOKKEEPING = ("_source_file", "_source_row")
# Columns the loader adds to a row (quarantine's `_rule` and `_column`) or uses while loading it: a landing file may
# not bring its own (compared without case, as DuckDB compares names).
RESERVED = (*BOOKKEEPING, "_rule", "_column", "_rule_index", "_existing", "_orig", "_fate")
CSV_OPTIONS = "header = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"'"


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


def csv_header(path: Path, table: str) -> list[str]:
    """The column names of a CSV landing file, from its first line (an empty name becomes `column<i>`, as DuckDB
    names it); LandingError for an empty file or a header that is not CSV."""
    try:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
            header = next(csv.reader(handle), None)
    except csv.Error as error:
        raise LandingError(f"Could not read {path} for table {table}: its header line is not valid CSV "
                           f"({error}).") from None
    if not header:
        raise LandingError(f"{path} is empty: a CSV landing file starts with a header line naming its columns "
                           f"(table {table}).")
    if any("\ufffd" in name for name in header):
        raise LandingError(f"Could not read {path} for table {table}: its header line is not UTF-8 text.")
    return [name or f"column{index}" for index, name in enumerate(header)]


def parquet_columns(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> list[str]:
    """The top-level column names of a Parquet landing file, from its footer (DuckDB would rename a repeated one)."""
    try:
        rows = con.execute(f"select name, num_children from parquet_schema({literal(str(path))})").fetchall()
    except duckdb.Error as error:
        raise LandingError(f"Could not read {path} for table {table}: {duckdb_reason(error)}.") from None
    nodes = iter(rows[1:])  # depth first after the root, whose children are the columns

    def skip(children: int | None) -> None:
        for _ in range(children or 0):
            skip(next(nodes)[1])

    names = []
    for _ in range((rows[0][1] or 0) if rows else 0):
        name, children = next(nodes)
        names.append(name)
        skip(children)
    return names


def check_header(path: Path, table: str, names: list[str]) -> None:
    """LandingError when a file names a column twice or brings a column the loader keeps for itself."""
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        folded = name.lower()
        if folded in RESERVED:
            raise LandingError(f"{path} has a column named {name}, a name the loader keeps for itself "
                               f"(table {table}; reserved: {', '.join(RESERVED)}): rename or drop it.")
        if folded in seen:
            same = "" if names[seen[folded] - 1] == name else f" (as {names[seen[folded] - 1]})"
            raise LandingError(f"{path} names the column {name} twice{same}, in columns {seen[folded]} and {position}, "
                               f"so its values are ambiguous (table {table}).")
        seen[folded] = position


def csv_error(error: duckdb.Error, files: list[Path], table: str) -> LandingError:
    """DuckDB's CSV error as one sentence naming the file and the line (DuckDB counts the header as line 1)."""
    text = str(error)
    named = re.search(r"^\s*file = (.+)$", text, flags=re.MULTILINE)
    where = named.group(1).strip() if named else ", ".join(str(path) for path in files)
    line = re.search(r"CSV Error on Line: (\d+)", text)
    reason = duckdb_reason(error)
    if line:
        lines = text.splitlines()
        start = next((i for i, item in enumerate(lines) if item.startswith("Original Line:")), 0)
        end = next((i for i, item in enumerate(lines) if item.startswith("Possible")), len(lines))
        detail = [item.strip() for item in lines[start + 1:end] if item.strip()]
        reason = f"line {line.group(1)}: {_plain_csv_reason(detail[-1] if detail else 'it cannot be parsed')}"
    return LandingError(f"Could not read {where} for table {table}: {reason.rstrip('. ')}.")


def read_error(con: duckdb.DuckDBPyConnection, error: duckdb.Error, files: list[Path], table: str) -> LandingError:
    """A landing file that failed while its rows were read (a corrupt Parquet page, say), as one sentence. When
    DuckDB's message does not name the file, each Parquet file is read alone to find it (after the rollback)."""
    text = str(error)
    failed = re.search(r'Failed to read file "([^"]+)": (.+)', text)
    if failed:
        reason = failed.group(2).strip().split(". ")[0].rstrip(". ")
        return LandingError(f"Could not read {failed.group(1)} for table {table}: {reason}.")
    if "CSV Error" in text:
        return csv_error(error, files, table)
    for path in files:
        if READERS[path.suffix.lower()] != "parquet":
            continue
        try:
            con.execute(f"create or replace temp table _read_probe as select * from read_parquet({literal(str(path))})")
        except duckdb.Error as alone:
            return LandingError(f"Could not read {path} for table {table}: {duckdb_reason(alone)}.")
        finally:
            con.execute("drop table if exists _read_probe")
    names = ", ".join(str(path) for path in files)
    return LandingError(f"Could not read {names} for table {table}: {duckdb_reason(error)}.")


def _plain_csv_reason(reason: str) -> str:
    fields = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", reason)
    if fields:
        return f"it has {fields.group(2)} fields where the header has {fields.group(1)}"
    if "unterminated quote" in reason:
        return "a quoted value is never closed (or a quote stands inside an unquoted value)"
    if "Invalid unicode" in reason:
        return "it is not UTF-8 text"
    size = re.search(r"Maximum line size of (\d+) bytes exceeded", reason)
    if size:
        return f"it is longer than the {int(size.group(1)):,} bytes a line may hold"
    return reason


def _csv_sql(files: list[Path], headers: dict[Path, list[str]]) -> str:
    # One scan per file, so that `_source_row` is the row's position in its own file.
    scans = []
    for path in files:
        columns = "{" + ", ".join(f"{literal(name)}: 'VARCHAR'" for name in headers[path]) + "}"
        scans.append(f"select *, row_number() over () as _source_row from read_csv({literal(str(path))}, "
                     f"{CSV_OPTIONS}, columns = {columns}, filename = '_source_file')")
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
        for path in files:
            check_header(path, table.name, parquet_columns(con, path, table.name))
        return _parquet_sql(files)
    headers = {path: csv_header(path, table.name) for path in files}
    for path, names in headers.items():
        check_header(path, table.name, names)
    stage = quote(f"_csv_{table.name}")
    try:
        con.execute(f"create or replace temp table {stage} as {_csv_sql(files, headers)}")
    except duckdb.Error as error:
        raise csv_error(error, files, table.name) from None
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

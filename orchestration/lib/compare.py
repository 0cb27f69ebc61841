"""Compare the tables of two warehouse files row for row (EXCEPT ALL both ways), schema by schema.

Used to prove that a change leaves the marts as they were, that an incremental run equals a full refresh, and
by `python -m orchestration.lib.compare A.duckdb B.duckdb` from the command line.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

DEFAULT_SCHEMAS = ("raw", "quarantine", "superseded", "intermediate", "marts", "sync")
# Bookkeeping that differs between any two runs by design: when and by which run a row was written.
VOLATILE_TABLES = frozenset({"sync.delivery_ledger", "sync.delivery_log"})
VOLATILE_COLUMNS = frozenset({"_source_file", "_load_id"})  # where a row came from; which build wrote it
# Where a row came from, kept in some raw tables and not in others: compared where both files have it.
BOOKKEEPING_COLUMNS = frozenset({"_source_file", "_source_row"})


@dataclass(frozen=True)
class TableDifference:
    table: str  # schema.table
    only_in_left: int  # rows (with multiplicity) in the left file and not in the right
    only_in_right: int
    note: str = ""  # "missing on the left", a column mismatch, ...

    @property
    def equal(self) -> bool:
        return not self.only_in_left and not self.only_in_right and not self.note

    def sentence(self) -> str:
        if self.note:
            return f"{self.table}: {self.note}"
        return (f"{self.table}: {self.only_in_left:,} rows only in the left file, "
                f"{self.only_in_right:,} only in the right")


def _tables(con: duckdb.DuckDBPyConnection, catalog: str, schemas: Iterable[str]) -> set[str]:
    rows = con.execute(
        "select schema_name || '.' || table_name from duckdb_tables() where database_name = ? and schema_name in "
        "(select unnest(?::varchar[]))", [catalog, list(schemas)]).fetchall()
    return {row[0] for row in rows}


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, table: str) -> list[str]:
    schema, name = table.split(".", 1)
    rows = con.execute(
        "select column_name from duckdb_columns() where database_name = ? and schema_name = ? and table_name = ? "
        "order by column_index", [catalog, schema, name]).fetchall()
    return [row[0] for row in rows if row[0] not in VOLATILE_COLUMNS]


def compare_warehouses(left: Path, right: Path, schemas: Sequence[str] = DEFAULT_SCHEMAS,
                       skip: Iterable[str] = VOLATILE_TABLES) -> list[TableDifference]:
    """One entry per table of `schemas` found in either file (but `skip`), equal or not."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{left}' as lhs (read_only)")
        con.execute(f"attach '{right}' as rhs (read_only)")
        in_left, in_right = _tables(con, "lhs", schemas), _tables(con, "rhs", schemas)
        differences = []
        for table in sorted((in_left | in_right) - set(skip)):
            if table not in in_left or table not in in_right:
                side = "left" if table not in in_left else "right"
                differences.append(TableDifference(table, 0, 0, note=f"missing in the {side} file"))
                continue
            columns, right_columns = _columns(con, "lhs", table), _columns(con, "rhs", table)
            if (set(columns) ^ set(right_columns)) - BOOKKEEPING_COLUMNS:
                differences.append(TableDifference(table, 0, 0, note="the two files have different columns"))
                continue
            columns = [column for column in columns if column in right_columns]
            select = ", ".join(f'"{column}"' for column in columns)
            schema, name = table.split(".", 1)
            lhs, rhs = f'lhs."{schema}"."{name}"', f'rhs."{schema}"."{name}"'
            only_left = con.execute(
                f"select count(*) from (select {select} from {lhs} except all select {select} from {rhs})").fetchone()
            only_right = con.execute(
                f"select count(*) from (select {select} from {rhs} except all select {select} from {lhs})").fetchone()
            differences.append(TableDifference(table, only_left[0], only_right[0]))
        return differences
    finally:
        con.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2:
        print("usage: python -m orchestration.lib.compare LEFT.duckdb RIGHT.duckdb [SCHEMA ...]", file=sys.stderr)
        return 2
    schemas = args[2:] or DEFAULT_SCHEMAS
    differences = compare_warehouses(Path(args[0]), Path(args[1]), schemas)
    unequal = [difference for difference in differences if not difference.equal]
    for difference in unequal:
        print(difference.sentence())
    print(f"{len(differences) - len(unequal)} of {len(differences)} tables equal in {', '.join(schemas)}.")
    return 1 if unequal else 0


if __name__ == "__main__":
    sys.exit(main())

"""The ledger of landing files: which files of a table are loaded, so a load reads only what is new.

`audit.landing_files` holds, per table and file, its size and modification time when it was loaded and the load
that read it. A load compares the table's files with it:

- nothing new or changed: the table is left as it is (`unchanged`);
- only new files, each after every loaded file in path order: those files alone are read (`incremental`); rows
  already loaded count as earlier in file order, as they would in a full load;
- a file changed (size or modification time) or removed, a new file that sorts before a loaded one, new extra
  columns, or no ledger yet: the table is loaded again from all its files (`full`), so its old rows are replaced
  or withdrawn exactly as a first load would.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.lib.names import AUDIT_SCHEMA

LEDGER = f"{AUDIT_SCHEMA}.landing_files"


@dataclass(frozen=True)
class FileState:
    path: str
    size: int
    modified_ns: int

    @classmethod
    def of(cls, path: Path) -> FileState:
        stat = path.stat()
        return cls(str(path), stat.st_size, stat.st_mtime_ns)


@dataclass(frozen=True)
class Plan:
    mode: str  # full, incremental or unchanged
    files: list[Path]  # the files to read
    reason: str  # why, in words, for the log

    @property
    def full(self) -> bool:
        return self.mode == "full"


def ensure_ledger(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"""
        create table if not exists {LEDGER} (
            table_name varchar not null, path varchar not null, size_bytes bigint not null,
            modified_ns bigint not null, rows bigint, load_id bigint not null, loaded_at timestamp not null,
            primary key (table_name, path)
        )""")


def recorded_files(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, FileState]:
    rows = con.execute(f"select path, size_bytes, modified_ns from {LEDGER} where table_name = ?", [table])
    return {path: FileState(path, size, modified) for path, size, modified in rows.fetchall()}


def plan_load(con: duckdb.DuckDBPyConnection, table: str, files: list[Path], raw_exists: bool,
              full_refresh: bool) -> Plan:
    """Which files to read, and whether to replace the table or add to it (see the module docstring)."""
    if full_refresh:
        return Plan("full", files, "a full refresh was asked for")
    recorded = recorded_files(con, table)
    if not raw_exists or not recorded:
        return Plan("full", files, "first load")
    current = {str(path): FileState.of(path) for path in files}
    changed = sorted(path for path, state in current.items() if path in recorded and recorded[path] != state)
    removed = sorted(set(recorded) - set(current))
    new = sorted(path for path in current if path not in recorded)
    if changed or removed:
        what = f"{len(changed)} changed and {len(removed)} removed file(s), e.g. {(changed or removed)[0]}"
        return Plan("full", files, f"{what}: the table is loaded again from all its files")
    if not new:
        return Plan("unchanged", [], "no new or changed file")
    if new[0] <= max(recorded):
        return Plan("full", files, f"{new[0]} sorts before a loaded file, so file order changes")
    return Plan("incremental", [Path(path) for path in new], f"{len(new)} new file(s)")


def record_files(con: duckdb.DuckDBPyConnection, table: str, plan: Plan, rows_by_file: dict[str, int],
                 load_id: int) -> None:
    """The files this load read; a full load replaces the table's ledger."""
    if plan.full:
        con.execute(f"delete from {LEDGER} where table_name = ?", [table])
    for path in plan.files:
        state = FileState.of(path)
        con.execute(f"insert or replace into {LEDGER} values (?, ?, ?, ?, ?, ?, current_timestamp::timestamp)",
                    [table, state.path, state.size, state.modified_ns, rows_by_file.get(state.path, 0), load_id])

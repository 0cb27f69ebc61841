"""Publishing the marts for BI tools: a read-only copy that a refresh replaces in one step.

BI tools (the DuckDB CLI, DBeaver, Metabase, Superset, Evidence) never open the warehouse a refresh writes: DuckDB
lets no other process hold a file while one writes it, so a reader would block the next refresh and a refresh
would refuse the reader. They open the published copy instead, in a directory of its own:

    published/marts.duckdb          every mart as a table of the same name, plus `_publication`
    published/parquet/current/      one Parquet file per mart (a symbolic link to the newest version)
    published/parquet/<run id>/     the versions themselves; the newest three are kept

Only a run whose marts passed every blocking check publishes (the Dagster asset `published/marts` depends on
them). The new file is written beside the old one under a temporary name, checkpointed and synced to disk, then
renamed over it: `rename` replaces a path in one step, so a reader that opens the path gets the old file or the
new one, never a mix, and a reader that has the old file open keeps reading it (its data stays on disk until it
closes). Every published row carries the run that published it (`_run_id`, `_as_of_date`), the same on every
mart. The file is written in DuckDB's v1.0.0 storage format, which DuckDB 1.x drivers also read.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from orchestration.lib.names import MARTS_SCHEMA

PUBLISHED_FILE = "marts.duckdb"
PARQUET_DIR = "parquet"
CURRENT = "current"
KEEP_VERSIONS = 3  # Parquet versions kept (a reader that resolved `current` a moment ago still finds its files)
STORAGE_VERSION = "v1.0.0"
PUBLICATION_TABLE = "_publication"


class PublishError(Exception):
    """The marts could not be published; the message is one sentence for the user."""


@dataclass(frozen=True)
class Publication:
    run_id: str
    as_of_date: date
    file: Path
    parquet: Path
    rows: dict[str, int]  # mart -> rows published


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def missing_marts(con: duckdb.DuckDBPyConnection, marts: Sequence[str]) -> list[str]:
    """The `marts` the warehouse does not hold (as tables, or on Spark as the views over its tables)."""
    present = {row[0] for row in con.execute(
        "select table_name from information_schema.tables where table_schema = ? and table_catalog = "
        "current_database()", [MARTS_SCHEMA]).fetchall()}
    return [name for name in marts if name not in present]


def published_file(directory: Path) -> Path:
    return directory / PUBLISHED_FILE


def sync_to_disk(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def replace_link(link: Path, target: str) -> None:
    """Point the symbolic link `link` at `target` in one step (a new link renamed over the old one)."""
    staged = link.with_name(f".{link.name}.{os.getpid()}")
    staged.unlink(missing_ok=True)
    staged.symlink_to(target)
    os.replace(staged, link)


def prune_versions(parquet: Path, keep: int = KEEP_VERSIONS) -> None:
    current = (parquet / CURRENT).resolve().name if (parquet / CURRENT).exists() else None
    versions = sorted((path for path in parquet.iterdir() if path.is_dir() and not path.is_symlink()
                       and not path.name.startswith(".")), key=lambda path: path.stat().st_mtime, reverse=True)
    for old in versions[keep:]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)


def publish(con: duckdb.DuckDBPyConnection, directory: Path, run_id: str, as_of_date: date,
            marts: Sequence[str]) -> Publication:
    """Copy the `marts` (the project's, by name: never a leftover of dbt's such as `<mart>__dbt_backup`, which a
    killed build can leave beside them) from the warehouse `con` into a new published file and Parquet version,
    then swap both in. A mart missing from the warehouse publishes nothing (PublishError)."""
    if missing := missing_marts(con, marts):
        names = ", ".join(f"{MARTS_SCHEMA}.{name}" for name in missing)
        raise PublishError(f"The warehouse has no {names}: nothing was published and the last publication stays "
                           "in place; run the build again.")
    directory.mkdir(parents=True, exist_ok=True)
    parquet = directory / PARQUET_DIR
    version = parquet / run_id
    staged = directory / f".{PUBLISHED_FILE}.{run_id}.tmp"
    staged.unlink(missing_ok=True)
    shutil.rmtree(version, ignore_errors=True)
    version.mkdir(parents=True)
    names = sorted(marts)
    stamp = f"{quoted(run_id)} as _run_id, date {quoted(as_of_date.isoformat())} as _as_of_date"
    rows: dict[str, int] = {}
    con.execute(f"attach {quoted(str(staged))} as published (storage_version '{STORAGE_VERSION}')")
    attached = True
    try:
        for name in names:
            con.execute(f'create table published.main."{name}" as select *, {stamp} from {MARTS_SCHEMA}."{name}"')
            rows[name] = con.execute(f'select count(*) from published.main."{name}"').fetchone()[0]
            con.execute(f'copy published.main."{name}" to {quoted(str(version / f"{name}.parquet"))} '
                        "(format parquet)")
        con.execute(f"create table published.main.{PUBLICATION_TABLE} as select {stamp}, "
                    f"timestamp {quoted(datetime.now(UTC).strftime('%Y-%m-%d %H:%M:%S'))} as published_at, "
                    f"{len(names)} as marts")
        con.execute("checkpoint published")
        con.execute("detach published")
        attached = False
        sync_to_disk(staged)
    except BaseException:  # nothing half-written is left behind, and the last publication stays in place
        if attached:
            con.execute("detach published")
        staged.unlink(missing_ok=True)
        shutil.rmtree(version, ignore_errors=True)
        raise
    os.replace(staged, published_file(directory))
    replace_link(parquet / CURRENT, run_id)
    prune_versions(parquet)
    return Publication(run_id=run_id, as_of_date=as_of_date, file=published_file(directory),
                       parquet=parquet / CURRENT, rows=rows)

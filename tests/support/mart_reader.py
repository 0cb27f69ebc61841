"""A BI tool, reduced to what matters: read every published mart in a loop, as a read-only DuckDB connection does.

    python -m tests.support.mart_reader PUBLISHED_DIR STOP_FILE RESULT_FILE

Until STOP_FILE exists, each pass opens published/marts.duckdb read-only, reads every mart's `_run_id` and
`_as_of_date` and the `_publication` row, and closes it; it also reads the Parquet version `current` points at.
A pass that finds two runs across the marts (a mix of two refreshes) or fails to open or read is recorded. One
connection opened before the refreshes is kept open throughout and read again at the end: it must still see the
publication it opened. The result (JSON) lists the passes, the runs seen and every problem.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb


def marts_of(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    return [row[0] for row in con.execute(
        "select table_name from information_schema.tables where table_catalog = ? and table_schema = 'main' "
        "and table_name <> '_publication' order by 1", [catalog]).fetchall()]


def runs_in(con: duckdb.DuckDBPyConnection, catalog: str = "marts") -> set[tuple[str, str]]:
    """Every (run id, as-of date) found on any mart row, and in the publication row."""
    found = {tuple(map(str, row)) for row in con.execute(
        f"select _run_id, _as_of_date from {catalog}.main._publication").fetchall()}
    for mart in marts_of(con, catalog):
        found |= {tuple(map(str, row)) for row in con.execute(
            f'select distinct _run_id, _as_of_date from {catalog}.main."{mart}"').fetchall()}
    return found


def read_parquet_version(published: Path) -> set[str]:
    version = (published / "parquet" / "current").resolve()  # resolved once: one version for the whole pass
    con = duckdb.connect()
    try:
        found = {version.name}
        for part in sorted(version.glob("*.parquet")):
            found |= {row[0] for row in con.execute(
                f"select distinct _run_id from read_parquet('{part}')").fetchall()}
        return found
    finally:
        con.close()


def main(published_dir: str, stop_file: str, result_file: str) -> None:
    published = Path(published_dir)
    database = published / "marts.duckdb"
    passes, runs, problems = 0, set(), []
    # DuckDB shares one database per path within a process: the long-lived reader attaches the file to an
    # in-memory database of its own, so that the loop's connections open the path afresh
    held = duckdb.connect()
    held.execute(f"attach '{database}' as held (read_only)")
    held_runs = runs_in(held, "held")
    while not Path(stop_file).exists():
        try:
            con = duckdb.connect(str(database), read_only=True)
            try:
                found = runs_in(con)
            finally:
                con.close()
            if len(found) != 1:
                problems.append(f"pass {passes}: the marts come from {sorted(found)}")
            runs |= found
            parquet = read_parquet_version(published)
            if len(parquet) != 1:
                problems.append(f"pass {passes}: the Parquet version mixes {sorted(parquet)}")
        except Exception as error:  # a refused or failed read is what the test is looking for
            problems.append(f"pass {passes}: {type(error).__name__}: {error}")
        passes += 1
        time.sleep(0.05)
    if runs_in(held, "held") != held_runs:
        problems.append("the connection held open throughout saw its data change")
    held.close()
    Path(result_file).write_text(json.dumps({"passes": passes, "runs": sorted(map(list, runs)),
                                             "held_runs": sorted(map(list, held_runs)), "problems": problems}))


if __name__ == "__main__":
    main(*sys.argv[1:4])

"""The whole pipeline at a scale: a full run, then a daily incremental run after one more day of data.

    .venv/bin/python -m benchmarks.bench_pipeline --scale 100

1. `expansion generate` writes the history through the as-of date D; the landing directory is laid out as it
   stood at the end of D − 1 (orchestration/lib/generator/timeline.py), one part file per table.
2. The floor: in this process, DuckDB reads each table's landing files into a table with no checks at all
   (`create table as select * from read_parquet(...)`, 2 threads, as the loader runs).
3. The full run: `expansion run --no-sync` as of D − 1 on a new warehouse; per table, the loader's time
   (audit.load_history) against the floor.
4. One more day: the landing directory brought forward to D (new part files of that day, the subscription
   history rewritten, about 1 % new rows), and `expansion run --no-sync` as of D on the same warehouse.
5. The proof: the warehouse before step 4, run as of D with `--full-refresh`, must equal the incremental one in
   every mart (EXCEPT ALL), and its time is printed too.
6. The fixed cost: the same command on a data set of 500 customers (scale 0.05), where the data costs nothing:
   Dagster's start, dbt's start and parse, and one query per model and data test. No run, however little it
   reads, is faster than that floor.

Each command runs as its own process; peak resident memory comes from `os.wait4` (the largest of the command's
processes: the run with DuckDB, or its dbt subprocess).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

from benchmarks.harness import WORK_DIR, print_table, run_measured
from orchestration.lib.compare import compare_warehouses
from orchestration.lib.contract import TABLE_NAMES
from orchestration.lib.generator.timeline import write_landing_as_of
from orchestration.lib.loader import find_table_files

AS_OF = date(2026, 11, 22)


def floor_seconds(landing: Path, scratch: Path) -> dict[str, float]:
    """Per table: DuckDB reading the landing files into a table, nothing else."""
    scratch.unlink(missing_ok=True)
    con = duckdb.connect(str(scratch))
    con.execute("set threads = 2")
    seconds = {}
    for table in TABLE_NAMES:
        files = "[" + ", ".join(f"'{path}'" for path in find_table_files(landing, table)) + "]"
        started = time.perf_counter()
        con.execute(f"create or replace table floor_{table} as select * from read_parquet({files}, "
                    "union_by_name = true)")
        con.execute("checkpoint")
        seconds[table] = time.perf_counter() - started
    con.close()
    scratch.unlink(missing_ok=True)
    return seconds


def load_seconds(warehouse: Path) -> dict[str, tuple[str, float, int]]:
    """Per table, the latest load's (mode, seconds, rows read) as recorded by the loader."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute("""select table_name, mode, seconds, rows_read from audit.load_history
                              qualify row_number() over (partition by table_name order by load_id desc) = 1""")
        return {name: (mode, seconds, read) for name, mode, seconds, read in rows.fetchall()}
    finally:
        con.close()


def run(expansion: str, landing: Path, warehouse: Path, day: date, target: Path, *options: str) -> tuple:
    env = {**os.environ, "EXPANSION_DBT_TARGET_PATH": str(target), "DAGSTER_HOME": str(target / "dagster_home")}
    return run_measured([expansion, "run", "--raw", str(landing), "--warehouse", str(warehouse), "--no-sync",
                         "--var", f"as_of_date={day}", *options], env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="reuse an existing generated history")
    args = parser.parse_args()

    expansion = str(Path(sys.executable).parent / "expansion")
    history = WORK_DIR / f"pipeline-history-s{args.scale:g}"
    landing = WORK_DIR / f"pipeline-landing-s{args.scale:g}"
    warehouse = WORK_DIR / f"pipeline-s{args.scale:g}.duckdb"
    before = WORK_DIR / f"pipeline-before-s{args.scale:g}.duckdb"
    full = WORK_DIR / f"pipeline-full-s{args.scale:g}.duckdb"
    target = WORK_DIR / f"pipeline-target-s{args.scale:g}"
    rows = []
    if not (args.keep and (history / "_generation.json").exists()):
        shutil.rmtree(history, ignore_errors=True)
        wall, rss = run_measured([expansion, "generate", "--out", str(history), "--scale", str(args.scale),
                                  "--seed", str(args.seed), "--end-date", str(AS_OF)])
        rows.append(["expansion generate (history through D)", f"{wall:.1f}", f"{rss:,.0f}"])
    day_before = AS_OF - timedelta(days=1)
    shutil.rmtree(landing, ignore_errors=True)
    write_landing_as_of(history, landing, day_before)
    floor = floor_seconds(landing, WORK_DIR / "floor.duckdb")

    for path in (warehouse, before, full):
        path.unlink(missing_ok=True)
    wall_full, rss_full = run(expansion, landing, warehouse, day_before, target)
    rows.append([f"expansion run --no-sync, full (as of {day_before})", f"{wall_full:.1f}", f"{rss_full:,.0f}"])
    full_loads = load_seconds(warehouse)
    shutil.copy(warehouse, before)

    write_landing_as_of(history, landing, AS_OF, first_day=day_before)
    wall_inc, rss_inc = run(expansion, landing, warehouse, AS_OF, target)
    rows.append([f"expansion run --no-sync, incremental (as of {AS_OF})", f"{wall_inc:.1f}", f"{rss_inc:,.0f}"])
    incremental_loads = load_seconds(warehouse)

    shutil.copy(before, full)
    wall_refresh, rss_refresh = run(expansion, landing, full, AS_OF, target, "--full-refresh")
    rows.append([f"expansion run --no-sync --full-refresh (as of {AS_OF})", f"{wall_refresh:.1f}",
                 f"{rss_refresh:,.0f}"])
    tiny_history, tiny = WORK_DIR / "pipeline-history-s0.05", WORK_DIR / "pipeline-s0.05.duckdb"
    shutil.rmtree(tiny_history, ignore_errors=True)
    tiny.unlink(missing_ok=True)
    run_measured([expansion, "generate", "--out", str(tiny_history), "--scale", "0.05", "--seed", str(args.seed),
                  "--end-date", str(AS_OF)])
    wall_tiny, rss_tiny = run(expansion, tiny_history, tiny, AS_OF, WORK_DIR / "pipeline-target-s0.05",
                              "--var", "cross_sell_min_pair_orders=3")
    rows.append(["expansion run --no-sync at scale 0.05 (the fixed cost)", f"{wall_tiny:.1f}", f"{rss_tiny:,.0f}"])
    print_table(f"Pipeline at scale {args.scale:g}", ["command", "seconds", "peak RSS MB"], rows)
    print(f"\nincremental / full run: {wall_inc / wall_full:.1%}   "
          f"incremental / full refresh of the same day: {wall_inc / wall_refresh:.1%}   "
          f"fixed cost / full run: {wall_tiny / wall_full:.1%}")

    table_rows = []
    for table in sorted(TABLE_NAMES, key=lambda name: -full_loads[name][1]):
        _, seconds, read = full_loads[table]
        mode, inc_seconds, inc_read = incremental_loads[table]
        table_rows.append([table, f"{read:,}", f"{floor[table]:.2f}", f"{seconds:.2f}",
                           f"{seconds / floor[table]:.2f}", mode, f"{inc_read:,}", f"{inc_seconds:.2f}"])
    print_table("Load per table (seconds; ratio = loader / floor, same machine, same run)",
                ["table", "rows", "floor", "full load", "ratio", "next day", "rows read", "seconds"], table_rows)

    differences = [d for d in compare_warehouses(full, warehouse, ("marts", "sync")) if not d.equal]
    print("\nmarts and sync models, incremental against full refresh: "
          + ("identical" if not differences else "; ".join(d.sentence() for d in differences)))


if __name__ == "__main__":
    main()

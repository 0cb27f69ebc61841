"""The whole pipeline at a scale: `expansion generate` then `expansion run --no-sync`, seconds and peak memory.

    .venv/bin/python -m benchmarks.bench_pipeline --scale 100

Each command runs as its own process; its peak resident memory (the largest process of the command: the
generator, or the run with DuckDB and the dbt subprocess measured separately by the kernel) comes from
`os.wait4`. The per-table load times are printed from the warehouse's `audit.load_counts`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import duckdb

from benchmarks.harness import WORK_DIR, print_table, run_measured

AS_OF = "2026-11-22"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="reuse an existing landing directory")
    args = parser.parse_args()

    expansion = str(Path(sys.executable).parent / "expansion")
    landing = WORK_DIR / f"pipeline-landing-s{args.scale:g}"
    warehouse = WORK_DIR / f"pipeline-s{args.scale:g}.duckdb"
    target = WORK_DIR / f"pipeline-target-s{args.scale:g}"
    rows = []
    if not (args.keep and (landing / "_generation.json").exists()):
        shutil.rmtree(landing, ignore_errors=True)
        wall, rss = run_measured([expansion, "generate", "--out", str(landing), "--scale", str(args.scale),
                                  "--seed", str(args.seed), "--end-date", AS_OF])
        rows.append(["expansion generate", f"{wall:.1f}", f"{rss:,.0f}"])
    for suffix in ("", ".wal"):
        Path(f"{warehouse}{suffix}").unlink(missing_ok=True)
    env = {**os.environ, "EXPANSION_DBT_TARGET_PATH": str(target)}
    wall, rss = run_measured([expansion, "run", "--raw", str(landing), "--warehouse", str(warehouse), "--no-sync",
                              "--var", f"as_of_date={AS_OF}"], env=env)
    rows.append(["expansion run --no-sync", f"{wall:.1f}", f"{rss:,.0f}"])
    print_table(f"Pipeline at scale {args.scale:g}", ["command", "seconds", "peak RSS MB"], rows)

    con = duckdb.connect(str(warehouse), read_only=True)
    loads = con.execute("select table_name, rows_read, rows_loaded, rows_quarantined, round(seconds, 2) "
                        "from audit.load_counts order by seconds desc").fetchall()
    con.close()
    print_table("Load per table", ["table", "read", "loaded", "quarantined", "seconds"],
                [[name, f"{read:,}", f"{loaded:,}", f"{quarantined:,}", seconds]
                 for name, read, loaded, quarantined, seconds in loads])
    print("\nPer-model dbt times at scale: the area benchmarks (bench_cross_sell, bench_upsell, bench_revenue).")


if __name__ == "__main__":
    main()

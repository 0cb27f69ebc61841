"""One scale on both engines: `expansion run --no-sync` on DuckDB, then on Spark (local session), timed.

    .venv/bin/python -m benchmarks.bench_engines --scale 1

The landing directory is generated once (clean, seed 0, through the as-of date); each engine loads it into a new
warehouse and builds every model and test, as a user's first run does. The figures per engine: the whole run's
wall time, the load (the raw assets, summed from audit.load_history's seconds), and dbt build (the rest), and the
peak resident memory of the command's largest process (`os.wait4`: the run itself, or its dbt subprocess, which
holds the Spark driver on Spark). Spark needs `make spark`; run nothing else beside it on a small machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from datetime import date
from pathlib import Path

import duckdb

from benchmarks.harness import WORK_DIR, print_table, run_measured
from orchestration.lib.generator import generate

AS_OF = date(2026, 11, 22)


def run_engine(engine: str, landing: Path, work: Path) -> dict[str, float]:
    warehouse = work / f"{engine}.duckdb"
    for stale in (warehouse, warehouse.with_suffix(".spark"), work / f"outbox-{engine}"):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    env = {name: value for name, value in os.environ.items() if not name.startswith("EXPANSION_")}
    env.update({"EXPANSION_TARGET": engine, "EXPANSION_DBT_TARGET_PATH": str(work / f"dbt-{engine}"),
                "SPARK_LOCAL_IP": "127.0.0.1", "DAGSTER_HOME": str(work / f"dagster-{engine}")})
    command = [sys.executable, "-m", "orchestration.run.cli", "run", "--no-sync", "--raw", str(landing),
               "--warehouse", str(warehouse), "--var", f"as_of_date={AS_OF.isoformat()}"]
    wall, peak = run_measured(command, env=env)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        load = con.execute("select sum(seconds) from audit.load_history").fetchone()[0] or 0.0
        usage = con.execute("select count(*) from raw.usage_events").fetchone()[0]
    finally:
        con.close()
    return {"wall": wall, "load": float(load), "rest": wall - float(load), "peak_mb": peak, "usage_rows": usage}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark"], choices=["duckdb", "spark"])
    args = parser.parse_args(argv)
    work = WORK_DIR / f"engines-s{args.scale:g}"
    work.mkdir(parents=True, exist_ok=True)
    landing = work / "landing"
    if not (landing / "_generation.json").exists():
        generate(landing, scale=args.scale, seed=0, end_date=AS_OF)
    rows = []
    for engine in args.engines:
        figures = run_engine(engine, landing, work)
        rows.append([engine, f"{figures['usage_rows']:,}", f"{figures['wall']:.1f}", f"{figures['load']:.1f}",
                     f"{figures['rest']:.1f}", f"{figures['peak_mb']:,.0f}"])
        print(f"{engine}: {figures['wall']:.1f} s", file=sys.stderr, flush=True)
    print_table(f"expansion run --no-sync at scale {args.scale:g} (2 cores), seconds:",
                ["engine", "usage events", "whole run", "load", "dbt build and gates", "peak MB"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

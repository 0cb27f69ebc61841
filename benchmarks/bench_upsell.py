"""Upsell benchmark: the upsell models inside `dbt build` at about 10M and 100M usage events.

For each scale it copies a loaded warehouse (harness.prepared_warehouse, or a file given with --warehouse),
builds the upstream staging views and int_fx_rates_daily once, then times `dbt build` of the upsell models
and their data tests (models/intermediate/upsell, models/marts/upsell; unit tests are left out, they do not
depend on the data) for the as-of date: a first run (the flag history starts empty) and repeats of the same
date (incremental, history in place).

Figures per run:
- seconds per model: dbt's own execution time from run_results.json (2 dbt threads run models side by side);
- mart path: from the first upsell model's start to the mart's end (run_results timings), i.e. how long the
  mart takes to build inside the `dbt build`; the target at 100M events is <= 12 s;
- cpu: user + system CPU seconds of the whole dbt process (dbt's own parsing included), from the kernel;
- peak MB: the maximum RSS of the dbt process, which runs DuckDB in-process; the target is <= 4 GB;
- load: the 1-minute load average before the run. The machine is shared and has 2 cores: at a load above 2
  other work competes for the CPU and the seconds stretch accordingly (cpu does not).

    .venv/bin/python -m benchmarks.bench_upsell                     # scales 10 and 100
    .venv/bin/python -m benchmarks.bench_upsell --scales 10 --repeats 3
    .venv/bin/python -m benchmarks.bench_upsell --warehouse 100=/path/to/loaded.duckdb

Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
from datetime import datetime
from pathlib import Path

import duckdb

from benchmarks.harness import WORK_DIR, DbtTiming, dbt, prepared_warehouse, print_table

AS_OF = "2026-11-22"
UPSELL_SELECTION = "models/intermediate/upsell models/marts/upsell"
UPSTREAM_SELECTION = "+upgrade_trigger_accounts,resource_type:model"
UPSELL_MODELS = (
    "int_usage_events_pivoted_to_customers",
    "int_plan_upgrade_paths",
    "int_customer_plans_resolved",
    "int_premium_features_blocked",
    "int_upgrade_signals_evaluated",
    "int_upgrade_flag_history",
    "upgrade_trigger_accounts",
)
HEADER = ["scale", "usage events", "run", "pivot", "paths", "plans", "blocked", "evaluated", "history", "mart",
          "mart path s", "tests s", "wall s", "cpu s", "peak MB", "load", "flagged"]


def table_count(warehouse: Path, table: str) -> int:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return int(con.execute(f"select count(*) from {table}").fetchall()[0][0])
    finally:
        con.close()


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def mart_path_seconds(target: Path) -> float:
    """From the first upsell model's start to the mart's end, from run_results.json's timings."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    starts, ends = [], []
    for result in results:
        name = result["unique_id"].split(".")[-1]
        if not result["unique_id"].startswith("model.") or name not in UPSELL_MODELS:
            continue
        execute = next(step for step in result["timing"] if step["name"] == "execute")
        compile_ = next(step for step in result["timing"] if step["name"] == "compile")
        starts.append(datetime.fromisoformat(compile_["started_at"].replace("Z", "+00:00")))
        if name == "upgrade_trigger_accounts":
            ends.append(datetime.fromisoformat(execute["completed_at"].replace("Z", "+00:00")))
    return (max(ends) - min(starts)).total_seconds()


def bench_scale(scale: float, source: Path, threads: int, repeats: int) -> list[list[object]]:
    scratch = WORK_DIR / f"bench-upsell-s{scale:g}.duckdb"
    target = WORK_DIR / f"bench-upsell-target-s{scale:g}"
    shutil.copy(source, scratch)
    rows: list[list[object]] = []
    try:
        events = table_count(scratch, "raw.usage_events")
        vars_ = {"as_of_date": AS_OF}
        dbt("run", UPSTREAM_SELECTION, scratch, vars_, target, threads=threads,
            extra=["--exclude", UPSELL_SELECTION])
        for run in range(1 + repeats):
            load = os.getloadavg()[0]
            cpu_before = children_cpu_seconds()
            timing: DbtTiming = dbt("build", UPSELL_SELECTION, scratch, vars_, target, threads=threads,
                                    extra=["--indirect-selection", "cautious", "--exclude", "test_type:unit"])
            cpu = children_cpu_seconds() - cpu_before
            failed = {name: status for name, status in timing.status.items() if status not in ("success", "pass")}
            if failed:
                raise RuntimeError(f"dbt build of upsell at scale {scale:g} did not pass: {failed}")
            test_seconds = sum(seconds for name, seconds in timing.node_seconds.items() if name not in UPSELL_MODELS)
            rows.append([f"{scale:g}", f"{events:,}", "first" if run == 0 else f"repeat {run}",
                         *[f"{timing.seconds(name):.2f}" for name in UPSELL_MODELS],
                         f"{mart_path_seconds(target):.2f}", f"{test_seconds:.2f}", f"{timing.wall_seconds:.1f}",
                         f"{cpu:.1f}", f"{timing.peak_rss_mb:,.0f}", f"{load:.1f}",
                         f"{table_count(scratch, 'marts.upgrade_trigger_accounts'):,}"])
    finally:
        scratch.unlink(missing_ok=True)
        Path(f"{scratch}.wal").unlink(missing_ok=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scales", nargs="+", type=float, default=[10.0, 100.0])
    parser.add_argument("--repeats", type=int, default=2, help="runs of the same as-of date after the first")
    parser.add_argument("--warehouse", action="append", default=[], metavar="SCALE=PATH",
                        help="use this loaded warehouse for a scale instead of harness.prepared_warehouse")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("EXPANSION_DBT_THREADS", "2")))
    args = parser.parse_args()
    given = {float(scale): Path(path) for scale, path in (item.split("=", 1) for item in args.warehouse)}
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    rows: list[list[object]] = []
    for scale in args.scales:
        rows += bench_scale(scale, given.get(scale) or prepared_warehouse(scale), args.threads, args.repeats)
    print_table(f"upsell models inside `dbt build` (as of {AS_OF}, {args.threads} dbt threads); model columns are "
                "dbt execution seconds", HEADER, rows)


if __name__ == "__main__":
    main()

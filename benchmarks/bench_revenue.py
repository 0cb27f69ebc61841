"""Revenue marts at scale: seconds per dbt node and the dbt process's peak memory.

    .venv/bin/python -m benchmarks.bench_revenue                      # scale 10 (~100k customers) and 100 (~1M)
    .venv/bin/python -m benchmarks.bench_revenue --scales 10
    .venv/bin/python -m benchmarks.bench_revenue --warehouse 100=/path/to/loaded.duckdb

Each scale starts from a warehouse with `raw` loaded (`harness.prepared_warehouse`, or a given file, which
is copied, never written), builds everything upstream of the revenue models once, then times:

1. the marts and the models they need rebuilt: `dbt build` of int_fx_rates_monthly, int_customer_mrr_periods,
   mrr_monthly, nrr_monthly_by_segment and nrr_monthly, without their tests
   (the contract target: the marts together within 3 s and 1 GB at ~1M customers);
2. the whole revenue area with its tests (int_mrr_changes_explained and the singular tests too), except the
   naive customer × month spine check, which is a correctness test for small data.

3. the write floor: right after the build, the time DuckDB takes (2 threads, as dbt runs it) to copy the finished
   mrr_monthly's eight contract columns into a new table, i.e. to write those rows with no computing at all.
   The ratio mrr_monthly ÷ floor shows how much of the model is its own work; the floor alone is the lower
   bound of any build that writes mrr_monthly as a table on this machine.

Times are dbt's own per-node execution times (run_results.json); memory is the dbt process's peak RSS. The
machine is shared: other work competes for its 2 cores, so run it more than once and note what else ran.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from benchmarks.harness import WORK_DIR, DbtTiming, dbt, prepared_warehouse, print_table

AS_OF = "2026-11-22"
MART_PATH = ["int_fx_rates_monthly", "int_customer_mrr_periods", "mrr_monthly",
             "nrr_monthly_by_segment", "nrr_monthly"]
MARTS = ["mrr_monthly", "nrr_monthly_by_segment", "nrr_monthly"]
CONTRACT_MARTS = ["mrr_monthly", "nrr_monthly"]
AREA = "int_fx_rates_monthly+"
AREA_MODELS = [*MART_PATH, "int_mrr_changes_explained"]
EXPENSIVE_TESTS = ["assert_mrr_monthly_matches_naive_spine"]


def customers_and_rows(warehouse: Path) -> tuple[int, int]:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        customers = con.execute("select count(*) from raw.customers").fetchone()[0]
        rows = con.execute("select count(*) from marts.mrr_monthly").fetchone()[0]
    finally:
        con.close()
    return customers, rows


CONTRACT_COLUMNS = "customer_id, month, mrr, previous_mrr, mrr_change, movement, plan_mrr, addon_mrr"


def write_floor(warehouse: Path) -> float:
    """Seconds to copy mrr_monthly's contract columns into a new table (written, committed, then dropped)."""
    import duckdb

    con = duckdb.connect(str(warehouse), config={"threads": 2, "preserve_insertion_order": False})
    try:
        con.execute("set enable_progress_bar = false")
        started = time.perf_counter()
        con.execute(f"create table main.bench_write_floor as select {CONTRACT_COLUMNS} from marts.mrr_monthly")
        seconds = time.perf_counter() - started
        con.execute("drop table main.bench_write_floor")
    finally:
        con.close()
    return seconds


def bench_scale(label: str, source: Path, repeat: int) -> list[list[object]]:
    work = WORK_DIR / f"revenue-{label}"
    work.mkdir(parents=True, exist_ok=True)
    warehouse = work / "warehouse.duckdb"
    shutil.copy(source, warehouse)
    target = work / "target"
    vars_ = {"as_of_date": AS_OF}
    # upstream of the revenue models (staging views, int_fx_rates_daily), once, untimed
    dbt("run", "+int_fx_rates_monthly +int_customer_mrr_periods", warehouse, vars_, target)
    rows: list[list[object]] = []
    for attempt in range(1, repeat + 1):
        marts = dbt("build", " ".join(MART_PATH), warehouse, vars_, target,
                    extra=["--indirect-selection", "empty"])
        area = dbt("build", AREA, warehouse, vars_, target,
                   extra=["--exclude", *EXPENSIVE_TESTS, "--indirect-selection", "cautious"])
        customers, mart_rows = customers_and_rows(warehouse)
        floor = write_floor(warehouse)
        rows.extend(report(label, attempt, customers, mart_rows, marts, area, floor))
    warehouse.unlink(missing_ok=True)
    return rows


def report(label: str, attempt: int, customers: int, mart_rows: int, marts: DbtTiming,
           area: DbtTiming, floor: float) -> list[list[object]]:
    seconds = marts.node_seconds
    contract = sum(seconds[name] for name in CONTRACT_MARTS)
    all_marts = sum(seconds[name] for name in MARTS)
    with_intermediates = sum(seconds[name] for name in MART_PATH)
    print(f"\n{label} run {attempt}: {customers:,} customers, {mart_rows:,} mrr_monthly rows")
    print_table("marts and what they need (dbt build, no tests)", ["node", "seconds"],
                [[name, f"{seconds[name]:.2f}"] for name in MART_PATH]
                + [["mrr_monthly + nrr_monthly", f"{contract:.2f}"],
                   ["+ nrr_monthly_by_segment", f"{all_marts:.2f}"],
                   ["+ the intermediates they need", f"{with_intermediates:.2f}"],
                   ["dbt wall (incl. start-up)", f"{marts.wall_seconds:.2f}"],
                   ["write floor: copying mrr_monthly", f"{floor:.2f}"],
                   ["mrr_monthly ÷ write floor", f"{seconds['mrr_monthly'] / floor:.2f}"],
                   ["dbt peak RSS MB", f"{marts.peak_rss_mb:.0f}"]])
    models = {name: value for name, value in area.node_seconds.items() if name in AREA_MODELS}
    tests = sum(value for name, value in area.node_seconds.items() if name not in models)
    print_table("whole revenue area with tests (dbt build)", ["node", "seconds"],
                [[name, f"{value:.2f}"] for name, value in sorted(models.items())]
                + [["tests (all)", f"{tests:.2f}"], ["dbt wall", f"{area.wall_seconds:.2f}"],
                   ["dbt peak RSS MB", f"{area.peak_rss_mb:.0f}"]])
    failed = {name: status for name, status in area.status.items() if status not in ("success", "pass")}
    if failed:
        print(f"not passing: {failed}")
    return [[label, attempt, f"{customers:,}", f"{mart_rows:,}", f"{seconds['int_customer_mrr_periods']:.2f}",
             f"{seconds['mrr_monthly']:.2f}", f"{seconds['nrr_monthly_by_segment']:.2f}",
             f"{seconds['nrr_monthly']:.2f}", f"{contract:.2f}", f"{all_marts:.2f}", f"{floor:.2f}",
             f"{with_intermediates:.2f}", f"{marts.peak_rss_mb:.0f}"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[10, 100])
    parser.add_argument("--warehouse", action="append", default=[], metavar="SCALE=FILE",
                        help="use this raw-loaded warehouse for a scale instead of generating one")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    given = {float(scale): Path(path) for scale, path in (item.split("=", 1) for item in args.warehouse)}
    summary: list[list[object]] = []
    for scale in args.scales:
        source = given.get(scale) or prepared_warehouse(scale)
        summary.extend(bench_scale(f"scale {scale:g}", source, args.repeat))
    print_table(f"summary (seconds per node; load average {os.getloadavg()[0]:.1f} at the end)",
                ["scale", "run", "customers", "mrr rows", "periods", "mrr_monthly", "by_segment", "nrr_monthly",
                 "mrr+nrr", "+by_segment", "write floor", "+intermediates", "peak MB"], summary)


if __name__ == "__main__":
    main()

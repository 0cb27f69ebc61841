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

Times are dbt's own per-node execution times (run_results.json); memory is the dbt process's peak RSS. The
machine is shared: other work competes for its 2 cores, so run it more than once and note what else ran.
"""

from __future__ import annotations

import argparse
import os
import shutil
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
        rows.extend(report(label, attempt, customers, mart_rows, marts, area))
    warehouse.unlink(missing_ok=True)
    return rows


def report(label: str, attempt: int, customers: int, mart_rows: int, marts: DbtTiming,
           area: DbtTiming) -> list[list[object]]:
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
             f"{seconds['nrr_monthly']:.2f}", f"{contract:.2f}", f"{with_intermediates:.2f}",
             f"{marts.peak_rss_mb:.0f}"]]


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
                 "mrr+nrr", "+intermediates", "peak MB"], summary)


if __name__ == "__main__":
    main()

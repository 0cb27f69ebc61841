"""Sync benchmark: the gate and the ledger at scale, delivering to the outbox (no network).

    .venv/bin/python -m benchmarks.bench_sync                  # scales 1 and 100
    .venv/bin/python -m benchmarks.bench_sync --scales 10

For each scale a copy of the loaded warehouse (harness.prepared_warehouse) gets one untimed `dbt run` of the
sync models and everything they need. Then, per sync model, in this process:

1. gate: read the table into pandas and validate it with its Great Expectations suite (what the blocking check
   and the sync asset each do); the first validation in a process also pays for importing GX;
2. first delivery: the ledger diff, write-ahead and outcomes for every record, to a fresh outbox;
3. unchanged: the same rows again, which must send nothing (the ledger finds every payload delivered).

Seconds are wall time; peak MB is this process's maximum RSS at the end (it only grows). Nothing is asserted;
the machine has 2 cores and other work may share them (the load average is printed).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import time
from pathlib import Path

import duckdb

from benchmarks.harness import WORK_DIR, dbt, prepared_warehouse, print_table
from orchestration.lib.sync.delivery import deliver, read_records
from orchestration.lib.sync.outbox import OutboxDestination
from orchestration.lib.validation import validate_frame

AS_OF = "2026-11-22"
SYNCS = {"sync_hubspot__companies": ("hubspot.companies", True),
         "sync_klaviyo__cross_sell_events": ("klaviyo.events", False)}


def built_warehouse(scale: float) -> Path:
    folder = WORK_DIR / "sync"
    folder.mkdir(parents=True, exist_ok=True)
    warehouse = folder / f"s{scale:g}.duckdb"
    shutil.copy(prepared_warehouse(scale), warehouse)
    dbt("run", "+path:models/sync", warehouse, {"as_of_date": AS_OF}, folder / "target")
    return warehouse


def timed(action):
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def bench_scale(scale: float) -> list[list[object]]:
    warehouse = built_warehouse(scale)
    outbox = WORK_DIR / "sync" / f"outbox-s{scale:g}"
    shutil.rmtree(outbox, ignore_errors=True)
    rows: list[list[object]] = []
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("set enable_progress_bar = false")
        for model, (vendor, resend_changed) in SYNCS.items():
            def gate(model: str = model):
                frame = con.execute(f"select * from sync.{model}").df()
                return validate_frame(frame, model)

            outcome, gate_seconds = timed(gate)
            records, read_seconds = timed(lambda model=model: read_records(con, f"sync.{model}"))
            first, first_seconds = timed(lambda vendor=vendor, records=records, changed=resend_changed: deliver(
                con, OutboxDestination(outbox, vendor, "run-1"), records, "run-1", resend_changed=changed))
            again, again_seconds = timed(lambda vendor=vendor, records=records, changed=resend_changed: deliver(
                con, OutboxDestination(outbox, vendor, "run-2"), records, "run-2", resend_changed=changed))
            rows.append([f"{scale:g}", model, f"{len(records):,}", f"{outcome.evaluated} / {outcome.success}",
                         f"{gate_seconds:.2f}", f"{read_seconds:.2f}", f"{first_seconds:.2f}",
                         f"{first.delivered:,}", f"{again_seconds:.2f}", f"{again.unchanged:,} / {again.sent}",
                         f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f}"])
    finally:
        con.close()
    warehouse.unlink(missing_ok=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1, 100])
    args = parser.parse_args()
    rows = [row for scale in args.scales for row in bench_scale(scale)]
    print_table(f"syncs to the outbox (seconds; load average {' '.join(f'{v:.1f}' for v in os.getloadavg())})",
                ["scale", "sync model", "records", "expectations / passed", "gate s", "read s", "first run s",
                 "delivered", "unchanged run s", "unchanged / sent", "peak MB"], rows)


if __name__ == "__main__":
    main()

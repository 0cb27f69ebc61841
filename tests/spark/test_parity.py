"""The whole pipeline on DuckDB and on Spark, on one small data set with dirty rows: every table equal.

`expansion run` runs twice as a user runs it, once per engine, chosen by EXPANSION_TARGET alone (no other setting
differs); then every raw, quarantine, superseded, audit, intermediate, mart and sync table of the Spark warehouse
is compared row for row with the DuckDB warehouse's (money exact, floats within 1e-9 relative).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from orchestration.lib.generator import generate
from orchestration.lib.spark import compare, session

AS_OF = "2026-11-30"
# Small enough for CI (about 20k usage events, 2k order lines), dirty, and with thresholds low enough that every
# mart and both sync models have rows at this scale.
SCALE, SEED = 0.02, 3
DBT_VARS = [f"as_of_date={AS_OF}", "cross_sell_min_pair_orders=2", "cross_sell_min_lift=1"]
ENGINES = ("duckdb", "spark")
VENDOR_VARIABLES = ("HUBSPOT_ACCESS_TOKEN", "HUBSPOT_BASE_URL", "KLAVIYO_API_KEY", "KLAVIYO_BASE_URL")


def run_expansion(root: Path, engine: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("EXPANSION_") and name not in VENDOR_VARIABLES}
    env.update({"EXPANSION_TARGET": engine, "EXPANSION_MAX_QUARANTINE_SHARE": "1",
                "EXPANSION_DBT_TARGET_PATH": str(root / f"dbt_{engine}"), "SPARK_LOCAL_IP": "127.0.0.1",
                "DAGSTER_HOME": str(root / f"dagster_{engine}")})
    args = [sys.executable, "-m", "orchestration.run.cli", "run", "--raw", str(root / "raw"),
            "--warehouse", str(root / f"{engine}.duckdb"), "--outbox", str(root / f"outbox_{engine}")]
    for pair in DBT_VARS:
        args += ["--var", pair]
    started = time.perf_counter()
    process = subprocess.run(args, env=env, capture_output=True, text=True, timeout=1200, check=False)
    return process, time.perf_counter() - started


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, subprocess.CompletedProcess[str]]]:
    root = tmp_path_factory.mktemp("parity")
    report = generate(root / "raw", scale=SCALE, seed=SEED, dirty=True, end_date=date.fromisoformat(AS_OF))
    assert sum(sum(rules.values()) for rules in report.planted.values()) > 100  # dirty rows of every kind
    processes = {}
    for engine in ENGINES:
        process, seconds = run_expansion(root, engine)
        print(f"expansion run on {engine}: exit {process.returncode} in {seconds:.0f} s\n{process.stdout}")
        processes[engine] = process
    return root, processes


def comparable(summary: str) -> list[str]:
    """The summary without what differs by engine on purpose: timings, the warehouse's and outbox's paths."""
    lines = []
    for line in summary.strip().splitlines():
        line = re.sub(r"in \d+(\.\d+)? s", "in N s", line)
        line = re.sub(r"(/\S*/)(duckdb|spark)(\.duckdb|/|_duckdb|_spark|\b)", r"\1ENGINE", line)
        line = line.replace("outbox_duckdb", "outbox_ENGINE").replace("outbox_spark", "outbox_ENGINE")
        if not line.startswith("dbt's own output"):
            lines.append(line)
    return lines


@pytest.mark.slow
def test_expansion_run_on_spark_exits_and_summarises_as_on_duckdb(runs) -> None:
    _, processes = runs
    for engine, process in processes.items():
        assert process.returncode == 0, f"{engine}: {process.stdout}\n{process.stderr[-3000:]}"
    duckdb_summary, spark_summary = (comparable(processes[engine].stdout) for engine in ENGINES)
    assert spark_summary[0].startswith("expansion run succeeded")
    assert spark_summary == duckdb_summary


@pytest.mark.slow
def test_every_table_is_equal_on_both_engines(runs) -> None:
    root, _ = runs
    details: list[str] = []
    try:
        differences = compare.compare(root / "duckdb.duckdb", session.session(root / "spark.spark"),
                                      details=details)
    finally:
        session.stop()
    unequal = [difference.sentence() for difference in differences if not difference.equal]
    assert not unequal, "\n".join(unequal + details)
    compared = {difference.table for difference in differences}
    for schema in compare.SCHEMAS:
        assert any(table.startswith(f"{schema}.") for table in compared), f"no {schema} table compared"
    for table in ("marts.copurchase_pairs", "marts.cross_sell_recommendations", "marts.upgrade_trigger_accounts",
                  "marts.mrr_monthly", "marts.nrr_monthly", "sync.sync_hubspot__companies",
                  "sync.sync_klaviyo__cross_sell_events", "quarantine.orders", "audit.load_counts"):
        assert table in compared
    print(f"{len(differences)} tables equal on DuckDB and Spark: {', '.join(sorted(compared))}")


@pytest.mark.slow
def test_both_engines_deliver_the_same_records(runs) -> None:
    root, _ = runs

    def delivered(engine: str) -> list[str]:
        lines = []
        for path in sorted((root / f"outbox_{engine}").rglob("*.jsonl")):
            lines += [f"{path.parent.name}: {line}" for line in path.read_text().splitlines()]
        return sorted(lines)

    duckdb_lines = delivered("duckdb")
    assert duckdb_lines, "nothing was delivered on DuckDB"
    assert delivered("spark") == duckdb_lines

"""Shared pieces of the benchmark scripts: prepare a warehouse at a scale, time dbt nodes, measure memory.

Benchmarks print figures; they assert nothing. Run them on demand, e.g. `.venv/bin/python -m benchmarks.bench_load`.
Timings of a model come from dbt's own `run_results.json` (the node's execution time); peak memory is the
maximum resident set size of the dbt process (DuckDB runs inside it), read from the kernel with `os.wait4`.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from orchestration.lib import paths, settings
from orchestration.lib.generator import generate
from orchestration.lib.names import LOAD_JOB
from orchestration.lib.settings import Settings

WORK_DIR = Path(os.environ.get("EXPANSION_BENCH_DIR", "/tmp/expansion-bench"))


@dataclass
class DbtTiming:
    command: str
    wall_seconds: float
    peak_rss_mb: float
    node_seconds: dict[str, float]  # model/test name -> execution time reported by dbt
    status: dict[str, str]

    def seconds(self, name: str) -> float:
        return self.node_seconds[name]


def run_measured(command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS in MB of that process and its waited-for children)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])} failed ({process.returncode}):\n{output[-4000:]}")
    return wall, usage.ru_maxrss / 1024


def dbt(command: str, select: str, warehouse: Path, vars_: dict[str, str] | None = None,
        target: Path | None = None, threads: int = 2, extra: list[str] | None = None) -> DbtTiming:
    target = target or WORK_DIR / "dbt-target"
    args = [paths.dbt_executable(), command, "--select", select, "--profiles-dir", str(paths.DBT_PROJECT_DIR),
            "--project-dir", str(paths.DBT_PROJECT_DIR), "--target-path", str(target),
            "--log-path", str(WORK_DIR / "dbt-logs"), "--threads", str(threads)]
    if vars_:
        args += ["--vars", json.dumps(vars_)]
    args += extra or []
    env = {**os.environ, settings.WAREHOUSE_ENV: str(warehouse)}
    wall, rss = run_measured(args, env=env, cwd=paths.DBT_PROJECT_DIR)
    results = json.loads((target / "run_results.json").read_text())["results"]
    names = {result["unique_id"]: result["unique_id"].split(".")[-1] for result in results}
    return DbtTiming(
        command=command,
        wall_seconds=wall,
        peak_rss_mb=rss,
        node_seconds={names[r["unique_id"]]: r["execution_time"] for r in results},
        status={names[r["unique_id"]]: r["status"] for r in results},
    )


def prepared_warehouse(scale: float, seed: int = 0, end_date: str = "2026-11-22") -> Path:
    """A warehouse with `raw` loaded from generated data at this scale (cached under WORK_DIR)."""
    from datetime import date

    landing = WORK_DIR / f"landing-s{scale:g}-seed{seed}-{end_date}"
    warehouse = WORK_DIR / f"warehouse-s{scale:g}-seed{seed}-{end_date}.duckdb"
    if not (landing / "_generation.json").exists():
        generate(landing, scale=scale, seed=seed, end_date=date.fromisoformat(end_date))
    if not warehouse.exists():
        from orchestration.run.pipeline import run_pipeline  # the load job, as `expansion run` runs it

        outcome = run_pipeline(Settings(raw_dir=landing, warehouse=warehouse, dbt_target_path=WORK_DIR / "dbt-target",
                                        sync=False), job_name=LOAD_JOB)
        if not outcome.success:
            raise RuntimeError(outcome.summary)
    return warehouse


def print_table(title: str, header: list[str], rows: list[list[object]]) -> None:
    print(f"\n{title}")
    widths = [max(len(str(cell)) for cell in [name, *[row[i] for row in rows]]) for i, name in enumerate(header)]
    print("  " + "  ".join(str(name).rjust(width) for name, width in zip(header, widths, strict=True)))
    for row in rows:
        print("  " + "  ".join(str(cell).rjust(width) for cell, width in zip(row, widths, strict=True)))

"""Run the Dagster job in-process for `expansion run` and summarise what happened."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import duckdb

from orchestration.lib import paths

if TYPE_CHECKING:
    from orchestration.cli import RunSettings

REFRESH_JOB = "expansion_refresh"
BUILD_JOB = "expansion_build"  # everything but the syncs (`--no-sync`)


@dataclass
class RunOutcome:
    success: bool
    summary: str
    failed_steps: dict[str, str] = field(default_factory=dict)
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)
    deliveries: list[str] = field(default_factory=list)  # one sentence per sync that ran
    seconds: float = 0.0


def apply_settings(settings: RunSettings) -> None:
    """Point the definitions (EnvVar-style settings) and dbt's profile at this run's files."""
    os.environ[paths.RAW_DIR_ENV] = str(settings.raw_dir)
    os.environ[paths.WAREHOUSE_ENV] = str(settings.warehouse)
    os.environ[paths.OUTBOX_ENV] = str(settings.outbox)
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)


def first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"


def failure_message(event: dg.DagsterEvent) -> str:
    error = event.step_failure_data.error if event.step_failure_data else None
    if error is None:
        return "failed"
    # dg.Failure and dbt errors carry the user-facing sentence in the message; skip the class name prefix.
    message = first_line(error.message)
    for prefix in ("dagster._core.definitions.events.Failure: ", "Failure: "):
        message = message.removeprefix(prefix)
    return message


def warehouse_counts(warehouse: Path) -> tuple[list[tuple], list[tuple]]:
    if not warehouse.exists():
        return [], []
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        loads = con.execute("""
            select table_name, rows_read, rows_loaded, rows_superseded, rows_quarantined
            from audit.load_counts order by table_name
        """).fetchall() if con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'audit' and table_name = 'load_counts'"
        ).fetchone()[0] else []
        names = con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' order by table_name").fetchall()
        marts = [(name, con.execute(f'select count(*) from marts."{name}"').fetchone()[0]) for (name,) in names]
        return loads, marts
    finally:
        con.close()


def format_summary(settings: RunSettings, outcome: RunOutcome, loads: list[tuple], marts: list[tuple]) -> str:
    lines = []
    if outcome.success:
        lines.append(f"expansion run succeeded in {outcome.seconds:.1f} s: {outcome.checks_passed} checks passed, "
                     "none failed.")
    else:
        parts = [f"expansion run FAILED after {outcome.seconds:.1f} s."]
        for step, message in outcome.failed_steps.items():
            parts.append(f"Step {step} failed: {message}")
        if outcome.checks_failed:
            parts.append(f"{len(outcome.checks_failed)} blocking check(s) failed: "
                         + ", ".join(outcome.checks_failed[:10]) + ("…" if len(outcome.checks_failed) > 10 else "."))
        parts.append(f"{outcome.checks_passed} checks passed; nothing downstream of a failure was delivered.")
        lines.append(" ".join(parts))
    if loads:
        quarantined = sum(row[4] for row in loads)
        lines.append(f"Loaded from {settings.raw_dir} ({quarantined:,} rows quarantined):")
        lines.append(f"  {'table':<20} {'read':>12} {'loaded':>12} {'superseded':>11} {'quarantined':>12}")
        lines += [f"  {name:<20} {read:>12,} {loaded:>12,} {superseded:>11,} {quarantined_:>12,}"
                  for name, read, loaded, superseded, quarantined_ in loads]
    if marts:
        lines.append(f"Marts in {settings.warehouse}:")
        lines += [f"  marts.{name:<34} {rows:>12,} rows" for name, rows in marts]
    if not settings.sync:
        lines.append("Syncs: skipped (--no-sync).")
    elif outcome.deliveries:
        lines.append("Syncs (HubSpot and Klaviyo when their credentials are set, else the outbox "
                     f"{settings.outbox}):")
        lines += [f"  {sentence}" for sentence in outcome.deliveries]
    else:
        lines.append("Syncs: none ran; nothing was delivered.")
    lines.append(f"dbt's own output: {dbt_output_path()}")
    return "\n".join(lines)


def dbt_output_path() -> Path:
    """Where `expansion run` keeps dbt's own log lines (dbt's target folder, beside run_results.json)."""
    return paths.dbt_target_path() / "expansion_run_dbt_output.log"


def run_pipeline(settings: RunSettings) -> RunOutcome:
    from orchestration.defs.build import build_definitions

    started = time.perf_counter()
    apply_settings(settings)
    try:
        defs = build_definitions()
    except RuntimeError as error:
        return RunOutcome(success=False, summary=f"expansion run FAILED before starting: {error}")
    job = defs.resolve_job_def(REFRESH_JOB if settings.sync else BUILD_JOB)
    run_config = {
        "ops": {"dbt_build": {"config": {"vars": settings.vars}}},
        "loggers": {"progress": {}},
    }
    # dagster-dbt echoes every dbt log line to stdout; keep stdout for the summary and the lines in a file
    dbt_output = dbt_output_path()
    dbt_output.parent.mkdir(parents=True, exist_ok=True)
    with (dg.DagsterInstance.ephemeral() as instance, dbt_output.open("w", encoding="utf-8") as sink,
          contextlib.redirect_stdout(sink)):
        result = job.execute_in_process(run_config=run_config, instance=instance, raise_on_error=False)
    outcome = RunOutcome(success=result.success, summary="")
    for event in result.all_events:
        if event.is_step_failure and "blocking asset check failed" not in failure_message(event):
            outcome.failed_steps[event.step_key or "?"] = failure_message(event)
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if evaluation.passed:
                outcome.checks_passed += 1
            elif evaluation.severity == dg.AssetCheckSeverity.ERROR:
                name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
                failures = evaluation.metadata.get("failures")
                reason = first_line(str(failures.value)).lstrip("- ") if failures is not None else ""
                outcome.checks_failed.append(f"{name} ({reason})" if reason and reason != "none" else name)
        elif event.event_type_value == "ASSET_MATERIALIZATION":
            materialization = event.event_specific_data.materialization
            if "delivery_summary" in materialization.metadata:
                outcome.deliveries.append(materialization.metadata["delivery_summary"].value)
    outcome.success = result.success and not outcome.checks_failed and not outcome.failed_steps
    outcome.seconds = time.perf_counter() - started
    loads, marts = warehouse_counts(settings.warehouse)
    outcome.summary = format_summary(settings, outcome, loads, marts)
    return outcome

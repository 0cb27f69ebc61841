"""Run one of the Dagster jobs in-process, configured by a `Settings` object, and summarise what happened."""

from __future__ import annotations

import contextlib
import time
import uuid
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.defs.resources import run_config_resources
from orchestration.lib import instance_storage, warehouse
from orchestration.lib.names import BUILD_JOB, DBT_OP, PROGRESS_LOGGER, REFRESH_JOB, WAREHOUSE_TAG
from orchestration.lib.settings import Settings
from orchestration.lib.spark import warehouse as spark_warehouse
from orchestration.run.progress import progress_logger
from orchestration.run.summary import RunOutcome, format_summary, outcome_from_events

DBT_OUTPUT_FILE = "expansion_run_dbt_output.log"


def dbt_output_path(settings: Settings) -> Path:
    """Where `expansion run` keeps dbt's own log lines (dbt's target folder, beside run_results.json)."""
    return settings.dbt_target_path / DBT_OUTPUT_FILE


def load_definitions() -> dg.Definitions:
    from orchestration.definitions import defs

    return defs()


def run_config(job: dg.JobDefinition, settings: Settings) -> dict[str, Any]:
    """The job's run configuration: the settings as resource configuration, dbt's vars, the progress logger."""
    config: dict[str, Any] = {"resources": run_config_resources(settings), "loggers": {PROGRESS_LOGGER: {}}}
    if any(node.name == DBT_OP for node in job.graph.nodes):
        config["ops"] = {DBT_OP: {"config": {"vars": settings.dbt_vars_for_build(),
                                             "full_refresh": settings.full_refresh}}}
    return config


def dagster_instance(settings: Settings) -> dg.DagsterInstance:
    """The persistent Dagster instance in DAGSTER_HOME (default `dagster_home/`): every `expansion run` is recorded
    there with its materialisations and checks, so `make dev` (dagster dev) shows CLI runs beside scheduled ones."""
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    instance_storage.commit_without_waiting_for_the_disk()
    return dg.DagsterInstance.from_config(str(settings.dagster_home))


def run_pipeline(settings: Settings, job_name: str | None = None) -> RunOutcome:
    """Execute `job_name` (by default the refresh job, or the build job without syncs) and summarise it."""
    started = time.perf_counter()
    try:
        definitions = load_definitions()
    except RuntimeError as error:
        return RunOutcome(summary=f"expansion run FAILED before starting: {error}")
    job = definitions.resolve_job_def(job_name or (REFRESH_JOB if settings.sync else BUILD_JOB))
    job = job.with_logger_defs({PROGRESS_LOGGER: progress_logger})
    run_id = str(uuid.uuid4())
    lock = warehouse.RefreshLock(settings.warehouse, run_id)
    try:
        lock.acquire()  # held until the run ends: a second refresh of this warehouse stops here, in one sentence
        warehouse.ensure_writable(settings.warehouse)
    except warehouse.WarehouseError as error:
        lock.release()
        return RunOutcome(summary=f"expansion run FAILED before starting: {error}")
    try:
        return execute(settings, job, run_id, started)
    finally:
        lock.release()


def execute(settings: Settings, job: dg.JobDefinition, run_id: str, started: float) -> RunOutcome:
    dbt_output = dbt_output_path(settings)
    dbt_output.parent.mkdir(parents=True, exist_ok=True)
    # dagster-dbt echoes every dbt log line to stdout; keep stdout for the summary and the lines in a file
    with (dagster_instance(settings) as instance, dbt_output.open("w", encoding="utf-8") as sink,
          contextlib.redirect_stdout(sink)):
        result = job.execute_in_process(run_config=run_config(job, settings), instance=instance,
                                        raise_on_error=False, run_id=run_id,
                                        tags={WAREHOUSE_TAG: str(settings.warehouse)})
    if settings.target == "spark":  # the summary reads what dbt-spark wrote through the DuckDB file's views
        spark_warehouse.refresh_views_of(settings.warehouse, settings.spark_dir)
    outcome = outcome_from_events(result.all_events, result.success, [node.name for node in job.graph.nodes])
    outcome.seconds = time.perf_counter() - started
    outcome.summary = format_summary(settings, outcome, dbt_output)
    return outcome

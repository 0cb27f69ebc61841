"""The jobs that refresh the warehouse, and the schedule that runs the full refresh daily."""

import dagster as dg

from orchestration.defs.quality.freshness import freshness_checks
from orchestration.lib.names import BUILD_JOB, DAILY_SCHEDULE, DESTINATIONS_GROUP, INGEST_GROUP, LOAD_JOB, REFRESH_JOB


def build_jobs(wall_clock_checks: dg.AssetSelection) -> list:
    """The three jobs; `wall_clock_checks` (Dagster's freshness checks, judged by the sensor) are left out of all.

    One process, one step at a time: DuckDB allows one writer per file, and every step writes the warehouse.
    """
    everything = dg.AssetSelection.all() - wall_clock_checks
    return [
        dg.define_asset_job(
            REFRESH_JOB, selection=everything, executor_def=dg.in_process_executor,
            description="Load the landing files, run `dbt build` (models and tests), the quality gates, then the "
            "syncs."),
        dg.define_asset_job(
            BUILD_JOB, selection=everything - dg.AssetSelection.groups(DESTINATIONS_GROUP),
            executor_def=dg.in_process_executor,
            description="Everything but the deliveries: load, `dbt build` and the quality gates "
            "(`expansion run --no-sync`)."),
        dg.define_asset_job(
            LOAD_JOB, selection=dg.AssetSelection.groups(INGEST_GROUP) - wall_clock_checks,
            executor_def=dg.in_process_executor,
            description="Only the raw tables: read the landing files, enforce the contract, record the counts."),
    ]


@dg.definitions
def automation() -> dg.Definitions:
    jobs = build_jobs(dg.AssetSelection.checks(*freshness_checks()))
    refresh = next(job for job in jobs if job.name == REFRESH_JOB)
    daily = dg.ScheduleDefinition(name=DAILY_SCHEDULE, job=refresh, cron_schedule="0 5 * * *",
                                  execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.STOPPED)
    return dg.Definitions(jobs=jobs, schedules=[daily])

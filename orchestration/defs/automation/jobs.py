"""The jobs that refresh the warehouse, and the schedule that runs the full refresh daily."""


import dagster as dg

from orchestration.lib.names import BUILD_JOB, DAILY_SCHEDULE, DESTINATIONS_GROUP, INGEST_GROUP, LOAD_JOB, REFRESH_JOB

# One process, one step at a time: DuckDB allows one writer per file, and every step writes the warehouse.
refresh_job = dg.define_asset_job(
    REFRESH_JOB,
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Load the landing files, run `dbt build` (models and tests), the quality gates, then the syncs.",
)

build_job = dg.define_asset_job(
    BUILD_JOB,
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups(DESTINATIONS_GROUP),
    executor_def=dg.in_process_executor,
    description="Everything but the deliveries: load, `dbt build` and the quality gates (`expansion run --no-sync`).",
)

load_job = dg.define_asset_job(
    LOAD_JOB,
    selection=dg.AssetSelection.groups(INGEST_GROUP),
    executor_def=dg.in_process_executor,
    description="Only the raw tables: read the landing files, enforce the contract, record the counts.",
)

daily_refresh = dg.ScheduleDefinition(
    name=DAILY_SCHEDULE,
    job=refresh_job,
    cron_schedule="0 5 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)


@dg.definitions
def automation() -> dg.Definitions:
    return dg.Definitions(jobs=[refresh_job, build_job, load_job], schedules=[daily_refresh])

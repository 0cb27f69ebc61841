"""The jobs that refresh the warehouse, the daily schedule, and the sensor that refreshes when landing files arrive.

Under `make dev` (dagster dev, with its daemon) the schedule and the sensor run on their own. The instance's
`dagster.yaml` (dagster_home/) queues runs so that one run per warehouse runs at a time (the tag
`expansion/warehouse`), retries a run whose process died, and every step of these jobs retries a failure that is not
one of the project's own verdicts (those raise `dg.Failure(allow_retries=False)`: a gate, a contract, a setting)
with exponential backoff. A refresh started anyway while another holds the warehouse stops in one sentence (the
warehouse resource's refresh lock).
"""

import dagster as dg

from orchestration.defs.quality.freshness import freshness_checks
from orchestration.defs.resources import settings_from_environment
from orchestration.lib.landing import LandingWatch, listing
from orchestration.lib.names import (
    BUILD_JOB,
    DAILY_SCHEDULE,
    DESTINATIONS_GROUP,
    INGEST_GROUP,
    LANDING_SENSOR,
    LOAD_JOB,
    REFRESH_JOB,
    WAREHOUSE_TAG,
)

# A step failing for a reason the project did not name (a file still being written, a vendor outage beyond the HTTP
# client's own retries, a network drop) is tried again after 5 s, then 10 s, each ±50 %.
STEP_RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
SENSOR_INTERVAL_SECONDS = 60


def build_jobs(wall_clock_checks: dg.AssetSelection, warehouse: str) -> list:
    """The three jobs; `wall_clock_checks` (Dagster's freshness checks, judged by the sensor) are left out of all.

    One process, one step at a time: DuckDB allows one writer per file, and every step writes the warehouse.
    """
    everything = dg.AssetSelection.all() - wall_clock_checks
    common = {"executor_def": dg.in_process_executor, "op_retry_policy": STEP_RETRY,
              "tags": {WAREHOUSE_TAG: warehouse}}
    return [
        dg.define_asset_job(
            REFRESH_JOB, selection=everything, **common,
            description="Load the landing files, run `dbt build` (models and tests), the quality gates, publish the "
            "marts for BI tools, then the syncs."),
        dg.define_asset_job(
            BUILD_JOB, selection=everything - dg.AssetSelection.groups(DESTINATIONS_GROUP), **common,
            description="Everything but the deliveries: load, `dbt build`, the quality gates and the published "
            "marts (`expansion run --no-sync`)."),
        dg.define_asset_job(
            LOAD_JOB, selection=dg.AssetSelection.groups(INGEST_GROUP) - wall_clock_checks, **common,
            description="Only the raw tables: read the landing files, enforce the contract, record the counts."),
    ]


def build_landing_sensor(job: dg.JobDefinition, landing: str) -> dg.SensorDefinition:
    @dg.sensor(name=LANDING_SENSOR, job=job, minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description=f"Starts {job.name} when the files under {landing} changed and then stayed the same for "
               "one evaluation (so a file still being copied is not loaded half-written).")
    def landing_files(context: dg.SensorEvaluationContext):
        watch = LandingWatch.from_cursor(context.cursor)
        decision = watch.observe(listing(landing))
        context.update_cursor(decision.cursor)
        if decision.run_key is None:
            return dg.SkipReason(decision.reason)
        return dg.RunRequest(run_key=decision.run_key, tags={"expansion/landing_files": str(decision.files)})

    return landing_files


@dg.definitions
def automation() -> dg.Definitions:
    settings = settings_from_environment()
    jobs = build_jobs(dg.AssetSelection.checks(*freshness_checks()), str(settings.warehouse))
    refresh = next(job for job in jobs if job.name == REFRESH_JOB)
    daily = dg.ScheduleDefinition(name=DAILY_SCHEDULE, job=refresh, cron_schedule="0 5 * * *",
                                  execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING,
                                  description="The full graph every day at 05:00 UTC, whether files arrived or not "
                                  "(the freshness gate then says when the extracts stopped).")
    return dg.Definitions(jobs=jobs, schedules=[daily], sensors=[build_landing_sensor(refresh, str(settings.raw_dir))])

"""The job that refreshes everything, and the schedule that runs it."""

from __future__ import annotations

import dagster as dg

SYNC_GROUP = "sync"

# One process, one step at a time: DuckDB allows one writer per file, and every step writes the warehouse.
refresh_job = dg.define_asset_job(
    "expansion_refresh",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Load the landing files, run `dbt build` (models and tests), then the gated syncs.",
)

daily_refresh = dg.ScheduleDefinition(
    name="daily_refresh",
    job=refresh_job,
    cron_schedule="0 5 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)

build_job = dg.define_asset_job(
    "expansion_build",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups(SYNC_GROUP),
    executor_def=dg.in_process_executor,
    description="Everything but the syncs: load and `dbt build` (what `expansion run --no-sync` runs).",
)

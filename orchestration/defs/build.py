"""Assemble the Definitions from the concern folders; settings come from the environment."""

from __future__ import annotations

import os

import dagster as dg

from orchestration.defs.automation.jobs import build_job, daily_refresh, refresh_job
from orchestration.defs.automation.progress import progress_logger
from orchestration.defs.ingest.assets import raw_assets
from orchestration.defs.quality.checks import build_gx_check
from orchestration.defs.resources import LandingResource, WarehouseResource, env_or_default
from orchestration.defs.sync.assets import SYNCS, OutboxResource, sync_assets
from orchestration.defs.transform.dbt_assets import build_dbt_assets, dbt_project, dbt_resource
from orchestration.lib import paths
from orchestration.lib.dbt_manifest import ensure_manifest


def build_definitions() -> dg.Definitions:
    manifest = ensure_manifest()
    project = dbt_project()
    return dg.Definitions(
        assets=[*raw_assets, build_dbt_assets(manifest, project), *sync_assets],
        asset_checks=[build_gx_check(spec.model) for spec in SYNCS],
        jobs=[refresh_job, build_job],
        schedules=[daily_refresh],
        loggers={"progress": progress_logger},
        resources={
            "landing": LandingResource(
                raw_dir=env_or_default(paths.RAW_DIR_ENV, paths.DEFAULT_RAW_DIR),
                max_quarantine_share=float(os.environ.get(paths.MAX_QUARANTINE_SHARE_ENV, "") or 0.05),
            ),
            "warehouse": WarehouseResource(path=env_or_default(paths.WAREHOUSE_ENV, paths.DEFAULT_WAREHOUSE)),
            "dbt": dbt_resource(project),
            "outbox": OutboxResource(path=env_or_default(paths.OUTBOX_ENV, paths.DEFAULT_OUTBOX)),
        },
    )

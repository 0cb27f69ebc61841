"""Freshness in Dagster's own terms, so the UI marks stale assets between runs.

The raw event tables report their newest event as `dagster/last_updated_timestamp` (see the ingest assets);
Dagster's last-update freshness checks compare it with the clock, and the marts' with the time they were built.
A sensor evaluates them (running by default: it only reads the instance). They warn in the UI and are kept out of
the jobs: the blocking gate of a run is the ingest assets' `fresh_at_as_of`, which judges the as-of instant
rather than the wall clock, so that a backfill of an old as-of date is not stale by definition.
"""

from datetime import timedelta

import dagster as dg

from orchestration.defs.resources import settings_from_environment
from orchestration.defs.transform.dbt_assets import project_manifest
from orchestration.lib.dbt_manifest import models_in_schemas
from orchestration.lib.names import MARTS_SCHEMA, RAW_SCHEMA

DAGSTER_FRESHNESS_CHECK = "freshness_check"  # the name Dagster's freshness check factories give their checks
MART_MAX_AGE = timedelta(hours=26)  # a daily refresh, with two hours to spare


def freshness_checks() -> list[dg.AssetChecksDefinition]:
    settings = settings_from_environment()
    checks: list[dg.AssetChecksDefinition] = []
    for table, hours in sorted(settings.freshness_hours.items()):
        if hours is not None:
            checks += dg.build_last_update_freshness_checks(assets=[dg.AssetKey([RAW_SCHEMA, table])],
                                                           lower_bound_delta=timedelta(hours=hours))
    marts = [dg.AssetKey([schema, name]) for schema, name in models_in_schemas(project_manifest(), (MARTS_SCHEMA,))]
    checks += dg.build_last_update_freshness_checks(assets=marts, lower_bound_delta=MART_MAX_AGE)
    return checks


@dg.definitions
def freshness() -> dg.Definitions:
    checks = freshness_checks()
    sensor = dg.build_sensor_for_freshness_checks(freshness_checks=checks,
                                                  default_status=dg.DefaultSensorStatus.RUNNING)
    return dg.Definitions(asset_checks=checks, sensors=[sensor])

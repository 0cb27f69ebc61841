"""The volume gate on what dbt built: every mart's and sync model's row count against its recent history.

One asset, `audit/mart_volumes`, runs after the dbt build, records each count in `audit.volume_history` and
carries the blocking check `volume_drift`; every destination depends on it, so a mart that lost most of its rows
stops every sync in that run (see `lib/volume.py` for the baseline and the limits).
"""

import dagster as dg

from orchestration.defs.resources import AsOfResource, GatesResource, WarehouseResource
from orchestration.defs.transform.dbt_assets import project_manifest
from orchestration.lib.dbt_manifest import models_in_schemas
from orchestration.lib.names import AUDIT_SCHEMA, MARTS_SCHEMA, QUALITY_GROUP, SYNC_SCHEMA
from orchestration.lib.settings import VOLUME_MAX_CHANGE_ENV
from orchestration.lib.volume import Verdict, check_volume, measure

VOLUMES_KEY = dg.AssetKey([AUDIT_SCHEMA, "mart_volumes"])
VOLUME_CHECK = "volume_drift"


def volumes_table(rows: list[tuple[str, int, Verdict]]) -> str:
    lines = ["| table | rows | median of accepted runs | verdict |", "|---|---|---|---|"]
    for relation, count, verdict in rows:
        typical = "" if verdict.baseline_rows is None else f"{verdict.baseline_rows:,.0f}"
        lines.append(f"| {relation} | {count:,} | {typical} | {'pass' if verdict.passed else 'FAIL'} |")
    return "\n".join(lines)


def build_volumes_asset(models: list[tuple[str, str]]) -> dg.AssetsDefinition:
    @dg.asset(
        key=VOLUMES_KEY,
        group_name=QUALITY_GROUP,
        kinds={"duckdb"},
        deps=[dg.AssetKey([schema, name]) for schema, name in models],
        check_specs=[dg.AssetCheckSpec(VOLUME_CHECK, asset=VOLUMES_KEY, blocking=True,
                                       description="every mart and sync model is within its limit of the recent "
                                       f"accepted runs' median row count ({VOLUME_MAX_CHANGE_ENV})")],
        description="Row counts of the marts and sync models, recorded per run in audit.volume_history.",
    )
    def mart_volumes(context: dg.AssetExecutionContext, warehouse: WarehouseResource, as_of: AsOfResource,
                     gates: GatesResource):
        rows = []
        with warehouse.connect() as con:
            for schema, name in models:
                measurement = measure(con, name, f"{schema}.{name}", as_of.day)
                verdict = check_volume(con, measurement, as_of.day, context.run_id, gates.volume_max_change.get(name),
                                       accept=name in gates.accept_volume_change)
                rows.append((measurement.relation, measurement.rows, verdict))
        failed = [verdict.sentence for _, _, verdict in rows if not verdict.passed]
        yield dg.MaterializeResult(metadata={"volumes": dg.MetadataValue.md(volumes_table(rows)),
                                             "dagster/row_count": dg.MetadataValue.int(len(rows))})
        description = (f"{'; '.join(failed)} ({VOLUME_MAX_CHANGE_ENV}; --accept-volume-change TABLE accepts it on "
                       "purpose)") if failed else f"{len(rows)} marts and sync models within their limits."
        yield dg.AssetCheckResult(check_name=VOLUME_CHECK, passed=not failed, description=description)

    return mart_volumes


@dg.definitions
def volumes() -> dg.Definitions:
    models = models_in_schemas(project_manifest(), (MARTS_SCHEMA, SYNC_SCHEMA))
    return dg.Definitions(assets=[build_volumes_asset(models)])

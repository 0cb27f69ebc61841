"""The volume gate on what dbt built: every mart's and sync model's row count against its recent history.

One asset, `audit/mart_volumes`, runs after the dbt build, records each mart's count in `audit.volume_history`
and carries the blocking check `volume_drift`; every destination depends on it, so a mart that lost most of its
rows stops every sync in that run. Each sync model has a blocking check `volume_drift` of its own, which stops only
its own destination (see `lib/volume.py` for the baseline and the limits).
"""

import dagster as dg
import duckdb

from orchestration.defs.resources import AsOfResource, GatesResource, WarehouseResource
from orchestration.defs.transform.dbt_assets import project_manifest
from orchestration.lib.dbt_manifest import models_in_schemas
from orchestration.lib.names import AUDIT_SCHEMA, MARTS_SCHEMA, QUALITY_GROUP, SYNC_SCHEMA
from orchestration.lib.settings import VOLUME_MAX_CHANGE_ENV
from orchestration.lib.sync.registry import DESTINATIONS
from orchestration.lib.volume import Verdict, check_volume, measure

VOLUMES_KEY = dg.AssetKey([AUDIT_SCHEMA, "mart_volumes"])
VOLUME_CHECK = "volume_drift"


def volumes_table(rows: list[tuple[str, int, Verdict]]) -> str:
    lines = ["| table | rows | median of accepted runs | verdict |", "|---|---|---|---|"]
    for relation, count, verdict in rows:
        typical = "" if verdict.baseline_rows is None else f"{verdict.baseline_rows:,.0f}"
        lines.append(f"| {relation} | {count:,} | {typical} | {'pass' if verdict.passed else 'FAIL'} |")
    return "\n".join(lines)


def judge(con: duckdb.DuckDBPyConnection, schema: str, name: str, run_id: str, as_of: AsOfResource,
          gates: GatesResource) -> tuple[str, int, Verdict]:
    """Measure, judge and record one table: (relation, rows, verdict)."""
    measurement = measure(con, name, f"{schema}.{name}", as_of.day)
    verdict = check_volume(con, measurement, as_of.day, run_id, gates.volume_max_change.get(name),
                           accept=name in gates.accept_volume_change)
    return measurement.relation, measurement.rows, verdict


def failed_description(failed: list[str]) -> str:
    return f"{'; '.join(failed)} ({VOLUME_MAX_CHANGE_ENV}; --accept-volume-change TABLE accepts it on purpose)"


def build_volumes_asset(models: list[tuple[str, str]]) -> dg.AssetsDefinition:
    @dg.asset(
        key=VOLUMES_KEY,
        group_name=QUALITY_GROUP,
        kinds={"duckdb"},
        deps=[dg.AssetKey([schema, name]) for schema, name in models],
        check_specs=[dg.AssetCheckSpec(VOLUME_CHECK, asset=VOLUMES_KEY, blocking=True,
                                       description="every mart is within its limit of the recent "
                                       f"accepted runs' median row count ({VOLUME_MAX_CHANGE_ENV})")],
        description="Row counts of the marts, recorded per run in audit.volume_history.",
    )
    def mart_volumes(context: dg.AssetExecutionContext, warehouse: WarehouseResource, as_of: AsOfResource,
                     gates: GatesResource):
        with warehouse.connect() as con:
            rows = [judge(con, schema, name, context.run_id, as_of, gates) for schema, name in models]
        failed = [verdict.sentence for _, _, verdict in rows if not verdict.passed]
        yield dg.MaterializeResult(metadata={"volumes": dg.MetadataValue.md(volumes_table(rows)),
                                             "dagster/row_count": dg.MetadataValue.int(len(rows))})
        description = failed_description(failed) if failed else f"{len(rows)} marts within their limits."
        yield dg.AssetCheckResult(check_name=VOLUME_CHECK, passed=not failed, description=description)

    return mart_volumes


def build_sync_volume_check(model: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=dg.AssetKey([SYNC_SCHEMA, model]), name=VOLUME_CHECK, blocking=True,
                    description=f"{SYNC_SCHEMA}.{model} is within its limit of the recent accepted runs' median row "
                    f"count ({VOLUME_MAX_CHANGE_ENV})")
    def sync_volume(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, as_of: AsOfResource,
                    gates: GatesResource) -> dg.AssetCheckResult:
        with warehouse.connect() as con:
            _, rows, verdict = judge(con, SYNC_SCHEMA, model, context.run.run_id, as_of, gates)
        return dg.AssetCheckResult(passed=verdict.passed, metadata={"rows": rows},
                                   description=verdict.sentence if verdict.passed else failed_description(
                                       [verdict.sentence]))

    return sync_volume


@dg.definitions
def volumes() -> dg.Definitions:
    marts = models_in_schemas(project_manifest(), (MARTS_SCHEMA,))
    return dg.Definitions(assets=[build_volumes_asset(marts)],
                          asset_checks=[build_sync_volume_check(spec.model) for spec in DESTINATIONS])

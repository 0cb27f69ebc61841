"""One asset per raw table: read the landing files into `raw.<table>`, quarantine what breaks the contract."""


from datetime import UTC

import dagster as dg
import duckdb

from orchestration.defs.resources import AsOfResource, GatesResource, LandingResource, WarehouseResource
from orchestration.lib.contract import TABLES, Table
from orchestration.lib.freshness import EVENT_COLUMNS, check_freshness
from orchestration.lib.loader import LandingError, LoadResult
from orchestration.lib.names import INGEST_GROUP, QUARANTINE_SCHEMA, RAW_SCHEMA
from orchestration.lib.settings import FRESHNESS_HOURS_ENV, MAX_QUARANTINE_SHARE_ENV, VOLUME_MAX_CHANGE_ENV
from orchestration.lib.volume import check_volume, measure

COUNTS_CHECK = "counts_reconcile"
QUARANTINE_CHECK = "quarantine_share"
VOLUME_CHECK = "volume_drift"
FRESHNESS_CHECK = "fresh_at_as_of"


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([RAW_SCHEMA, table])


def load_metadata(result: LoadResult) -> dict[str, dg.MetadataValue]:
    by_rule = "\n".join(f"| {rule} | {count} |" for rule, count in result.quarantined_by_rule.items())
    return {
        "rows_read": dg.MetadataValue.int(result.rows_read),
        "rows_loaded": dg.MetadataValue.int(result.rows_loaded),
        "rows_superseded": dg.MetadataValue.int(result.rows_superseded),
        "rows_quarantined": dg.MetadataValue.int(result.rows_quarantined),
        "dagster/row_count": dg.MetadataValue.int(result.rows_loaded),
        "seconds": dg.MetadataValue.float(round(result.seconds, 3)),
        "load_mode": dg.MetadataValue.text(f"{result.mode}: {result.reason}"),
        "rows_displaced": dg.MetadataValue.int(result.rows_displaced),
        "partitions_changed": dg.MetadataValue.int(result.partitions_changed),
        "source_files": dg.MetadataValue.json(result.source_files),
        "quarantine_by_rule": dg.MetadataValue.md("| rule | rows |\n|---|---|\n" + by_rule if by_rule else "none"),
    }


def quarantine_share_result(result: LoadResult, limit: float) -> dg.AssetCheckResult:
    """Pass when at most `limit` of the rows read were quarantined; else say which table, how much, and why."""
    share = result.rows_quarantined / result.rows_read if result.rows_read else 0.0
    passed = share <= limit
    top_rules = sorted(result.quarantined_by_rule.items(), key=lambda item: (-item[1], item[0]))[:3]
    rules = ", ".join(f"{rule} {count:,}" for rule, count in top_rules)
    explanation = (f"{result.table} quarantined {result.rows_quarantined:,} of {result.rows_read:,} rows "
                   f"({share:.1%}), above the limit of {limit:.1%} ({MAX_QUARANTINE_SHARE_ENV}); most common rules: "
                   f"{rules}; see {QUARANTINE_SCHEMA}.{result.table}")
    return dg.AssetCheckResult(
        check_name=QUARANTINE_CHECK, passed=passed,
        description=None if passed else explanation,
        metadata={"share": round(share, 6), "limit": limit, "rows_quarantined": result.rows_quarantined,
                  "top_rules": rules or "none"},
    )


def volume_result(con: duckdb.DuckDBPyConnection, table: str, context: dg.AssetExecutionContext,
                  as_of: AsOfResource, gates: GatesResource) -> dg.AssetCheckResult:
    measurement = measure(con, table, f"{RAW_SCHEMA}.{table}", as_of.day)
    verdict = check_volume(con, measurement, as_of.day, context.run_id, gates.volume_max_change.get(table),
                           accept=table in gates.accept_volume_change)
    description = verdict.sentence if verdict.passed else f"{verdict.sentence} ({VOLUME_MAX_CHANGE_ENV}; "\
        f"--accept-volume-change {table} accepts it on purpose)"
    return dg.AssetCheckResult(check_name=VOLUME_CHECK, passed=verdict.passed, description=description,
                               metadata=verdict.metadata(measurement))


def freshness_result(con: duckdb.DuckDBPyConnection, table: str, as_of: AsOfResource,
                     gates: GatesResource) -> tuple[dg.AssetCheckResult, dict[str, dg.MetadataValue]]:
    """The blocking check against the as-of instant, and the newest event as Dagster's last-updated time."""
    freshness = check_freshness(con, table, as_of.instant, gates.freshness_hours.get(table))
    description = freshness.sentence() + ("" if freshness.passed else f" ({FRESHNESS_HOURS_ENV})")
    result = dg.AssetCheckResult(check_name=FRESHNESS_CHECK, passed=freshness.passed, description=description,
                                 metadata={"age_hours": freshness.age_hours, "limit_hours": freshness.limit_hours})
    metadata = {}
    if freshness.newest is not None:
        metadata["dagster/last_updated_timestamp"] = dg.MetadataValue.timestamp(freshness.newest.replace(tzinfo=UTC))
    return result, metadata


def check_specs(table: Table, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    specs = [
        dg.AssetCheckSpec(COUNTS_CHECK, asset=key, blocking=True,
                          description="rows read = loaded + superseded + quarantined"),
        dg.AssetCheckSpec(QUARANTINE_CHECK, asset=key, blocking=True,
                          description="at most the landing resource's max_quarantine_share of the rows read "
                          f"(default 5 %, {MAX_QUARANTINE_SHARE_ENV}) are quarantined"),
        dg.AssetCheckSpec(VOLUME_CHECK, asset=key, blocking=True,
                          description="the row count (and, for orders and usage events, the last 7 days' rows) is "
                          f"within the limit of the recent accepted runs' median ({VOLUME_MAX_CHANGE_ENV})"),
    ]
    if table.name in EVENT_COLUMNS:
        specs.append(dg.AssetCheckSpec(
            FRESHNESS_CHECK, asset=key, blocking=True,
            description=f"the newest {' / '.join(EVENT_COLUMNS[table.name])} is at most the limit "
            f"({FRESHNESS_HOURS_ENV}) older than the as-of instant"))
    return specs


def build_raw_asset(table: Table) -> dg.AssetsDefinition:
    key = raw_key(table.name)

    @dg.asset(
        key=key,
        group_name=INGEST_GROUP,
        kinds={"duckdb"},
        description=f"{table.description} Loaded from the landing directory; contract breaks go to "
        f"{QUARANTINE_SCHEMA}.{table.name}.",
        deps=[raw_key(name) for name in table.depends_on],
        check_specs=check_specs(table, key),
    )
    def raw_table(context: dg.AssetExecutionContext, landing: LandingResource, warehouse: WarehouseResource,
                  as_of: AsOfResource, gates: GatesResource):
        try:
            with warehouse.connect() as con:
                result = warehouse.load_table(con, landing.directory, table, run_id=context.run_id,
                                              full_refresh=landing.full_refresh)
                gate_results = [volume_result(con, table.name, context, as_of, gates)]
                freshness_metadata = {}
                if table.name in EVENT_COLUMNS:
                    fresh, freshness_metadata = freshness_result(con, table.name, as_of, gates)
                    gate_results.append(fresh)
        except LandingError as error:
            raise dg.Failure(description=str(error), allow_retries=False) from None
        context.log.info(
            f"{table.name} ({result.mode}: {result.reason}): read {result.rows_read:,}, loaded {result.rows_loaded:,}, "
            f"superseded {result.rows_superseded:,}, quarantined {result.rows_quarantined:,} in {result.seconds:.1f} s"
        )
        yield dg.MaterializeResult(metadata={**load_metadata(result), **freshness_metadata})
        yield dg.AssetCheckResult(check_name=COUNTS_CHECK, passed=result.reconciles,
                                  metadata={"rows_read": result.rows_read})
        yield quarantine_share_result(result, landing.max_quarantine_share)
        yield from gate_results

    return raw_table


@dg.definitions
def ingest() -> dg.Definitions:
    return dg.Definitions(assets=[build_raw_asset(table) for table in TABLES])

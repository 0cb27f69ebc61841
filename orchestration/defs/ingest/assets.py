"""One asset per raw table: read the landing files into `raw.<table>`, quarantine what breaks the contract."""


import dagster as dg

from orchestration.defs.resources import LandingResource, WarehouseResource
from orchestration.lib.contract import TABLES, Table
from orchestration.lib.loader import LandingError, LoadResult, load_table
from orchestration.lib.names import INGEST_GROUP, QUARANTINE_SCHEMA, RAW_SCHEMA
from orchestration.lib.settings import MAX_QUARANTINE_SHARE_ENV

COUNTS_CHECK = "counts_reconcile"
QUARANTINE_CHECK = "quarantine_share"


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


def build_raw_asset(table: Table) -> dg.AssetsDefinition:
    key = raw_key(table.name)

    @dg.asset(
        key=key,
        group_name=INGEST_GROUP,
        kinds={"duckdb"},
        description=f"{table.description} Loaded from the landing directory; contract breaks go to "
        f"{QUARANTINE_SCHEMA}.{table.name}.",
        deps=[raw_key(name) for name in table.depends_on],
        check_specs=[
            dg.AssetCheckSpec(COUNTS_CHECK, asset=key, blocking=True,
                              description="rows read = loaded + superseded + quarantined"),
            dg.AssetCheckSpec(QUARANTINE_CHECK, asset=key, blocking=True,
                              description="at most the landing resource's max_quarantine_share of the rows read "
                              f"(default 5 %, {MAX_QUARANTINE_SHARE_ENV}) are quarantined"),
        ],
    )
    def raw_table(context: dg.AssetExecutionContext, landing: LandingResource, warehouse: WarehouseResource):
        try:
            with warehouse.connect() as con:
                result = load_table(con, landing.directory, table)
        except LandingError as error:
            raise dg.Failure(description=str(error), allow_retries=False) from None
        context.log.info(
            f"{table.name}: read {result.rows_read:,}, loaded {result.rows_loaded:,}, superseded "
            f"{result.rows_superseded:,}, quarantined {result.rows_quarantined:,} in {result.seconds:.1f} s"
        )
        yield dg.MaterializeResult(metadata=load_metadata(result))
        yield dg.AssetCheckResult(check_name=COUNTS_CHECK, passed=result.reconciles,
                                  metadata={"rows_read": result.rows_read})
        yield quarantine_share_result(result, landing.max_quarantine_share)

    return raw_table


@dg.definitions
def ingest() -> dg.Definitions:
    return dg.Definitions(assets=[build_raw_asset(table) for table in TABLES])

"""One asset per raw table: read the landing files into `raw.<table>`, quarantine what breaks the contract."""


import dagster as dg

from orchestration.defs.resources import LandingResource, WarehouseResource
from orchestration.lib.contract import TABLES, Table
from orchestration.lib.loader import LandingError, LoadResult, load_table


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


def build_raw_asset(table: Table) -> dg.AssetsDefinition:
    key = dg.AssetKey(["raw", table.name])

    @dg.asset(
        key=key,
        group_name="ingest",
        kinds={"duckdb"},
        description=f"{table.description} Loaded from the landing directory; contract breaks go to "
        f"quarantine.{table.name}.",
        deps=[dg.AssetKey(["raw", name]) for name in table.depends_on],
        check_specs=[
            dg.AssetCheckSpec("counts_reconcile", asset=key, blocking=True,
                              description="rows read = loaded + superseded + quarantined"),
            dg.AssetCheckSpec("quarantine_share", asset=key, blocking=True,
                              description="at most the landing resource's max_quarantine_share of the rows read "
                              "(default 5 %, EXPANSION_MAX_QUARANTINE_SHARE) are quarantined"),
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
        yield dg.AssetCheckResult(check_name="counts_reconcile", passed=result.reconciles,
                                  metadata={"rows_read": result.rows_read})
        share = result.rows_quarantined / result.rows_read if result.rows_read else 0.0
        yield dg.AssetCheckResult(check_name="quarantine_share", passed=share <= landing.max_quarantine_share,
                                  metadata={"share": round(share, 6), "limit": landing.max_quarantine_share})

    return raw_table


raw_assets = [build_raw_asset(table) for table in TABLES]

"""The marts BI tools read: `published/marts`, copied out of the warehouse once every mart has passed its checks.

The asset depends on every mart and on `audit/mart_volumes` (the marts' volume gate), so a mart whose dbt test or
volume check fails, or a build that fails, leaves the last published marts in place (see lib/publish.py).
"""

import dagster as dg

from orchestration.defs.quality.volumes import VOLUMES_KEY
from orchestration.defs.resources import AsOfResource, PublishResource, WarehouseResource, one_sentence_failure
from orchestration.defs.transform.dbt_assets import project_manifest
from orchestration.lib.dbt_manifest import models_in_schemas
from orchestration.lib.names import MARTS_SCHEMA, PUBLISH_GROUP
from orchestration.lib.publish import PublishError
from orchestration.lib.publish import publish as publish_marts

PUBLISHED_KEY = dg.AssetKey([PUBLISH_GROUP, "marts"])


def build_publish_asset(marts: list[tuple[str, str]]) -> dg.AssetsDefinition:
    @dg.asset(
        key=PUBLISHED_KEY,
        group_name=PUBLISH_GROUP,
        kinds={"duckdb", "parquet"},
        deps=[*(dg.AssetKey([schema, name]) for schema, name in marts), VOLUMES_KEY],
        description="Every mart, copied into published/marts.duckdb and published/parquet/current/ for BI tools, "
        "replaced in one step at the end of a run whose marts passed their checks.",
    )
    def published_marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource, publish: PublishResource,
                        as_of: AsOfResource) -> dg.MaterializeResult:
        with warehouse.connect() as con, one_sentence_failure(PublishError):
            publication = publish_marts(con, publish.directory, context.run_id, as_of.day,
                                        [name for _, name in marts])
        context.log.info(f"published {len(publication.rows)} marts to {publication.file}")
        return dg.MaterializeResult(metadata={
            "file": dg.MetadataValue.path(str(publication.file)),
            "parquet": dg.MetadataValue.path(str(publication.parquet)),
            "as_of_date": dg.MetadataValue.text(publication.as_of_date.isoformat()),
            "dagster/row_count": dg.MetadataValue.int(sum(publication.rows.values())),
            "marts": dg.MetadataValue.json(publication.rows),
        })

    return published_marts


@dg.definitions
def publishing() -> dg.Definitions:
    return dg.Definitions(assets=[build_publish_asset(models_in_schemas(project_manifest(), (MARTS_SCHEMA,)))])

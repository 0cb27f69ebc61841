"""Great Expectations on the tables that feed the syncs, as blocking asset checks.

Each sync model (`sync.<model>`, built by dbt) gets a check named `great_expectations` that reads the table
into a pandas data frame and validates it with the suite of the same name in the expectations folder. The check
is blocking: when it fails, the sync asset downstream does not run in that run, so nothing unvalidated leaves.
"""


import dagster as dg

from orchestration.defs.resources import QualityResource, WarehouseResource
from orchestration.lib.names import GX_CHECK, SYNC_SCHEMA
from orchestration.lib.sync.registry import DESTINATIONS
from orchestration.lib.validation import ValidationOutcome, validate_sync_table


def check_metadata(outcome: ValidationOutcome) -> dict[str, dg.MetadataValue]:
    failures = "\n".join(f"- {failure}" for failure in outcome.failures) or "none"
    return {
        "rows": dg.MetadataValue.int(outcome.rows),
        "expectations_evaluated": dg.MetadataValue.int(outcome.evaluated),
        "failures": dg.MetadataValue.md(failures),
    }


def build_gx_check(model: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey([SYNC_SCHEMA, model]),
        name=GX_CHECK,
        blocking=True,
        description=f"The Great Expectations suite {model} ({model}.json in the expectations folder) passes on "
        "the whole table.",
    )
    def gx_check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource,
                 quality: QualityResource) -> dg.AssetCheckResult:
        with warehouse.connect() as con:
            outcome = validate_sync_table(con, model, quality.directory)
        if not outcome.success:
            context.log.error(f"{model}: " + " ".join(outcome.failures))
        return dg.AssetCheckResult(passed=outcome.success, severity=dg.AssetCheckSeverity.ERROR,
                                   description=None if outcome.success else outcome.failures[0],
                                   metadata=check_metadata(outcome))

    return gx_check


@dg.definitions
def quality() -> dg.Definitions:
    return dg.Definitions(asset_checks=[build_gx_check(spec.model) for spec in DESTINATIONS])

"""Great Expectations on the tables that feed the syncs, as blocking asset checks.

Each sync model (`sync.<model>`, built by dbt) gets a check named `great_expectations` that reads the table
into a pandas data frame and validates it with the suite of the same name in `expectations/`. The check is
blocking: when it fails, the sync asset downstream does not run in that run, so nothing unvalidated leaves.
"""


import dagster as dg
import duckdb

from orchestration.defs.resources import WarehouseResource
from orchestration.lib import paths
from orchestration.lib.validation import ValidationOutcome, validate_frame

SYNC_SCHEMA = "sync"
CHECK_NAME = "great_expectations"


def validate_sync_table(con: duckdb.DuckDBPyConnection, model: str) -> ValidationOutcome:
    """The whole table sync.<model>, as a pandas data frame, against its suite (the one gate the check and the
    sync asset both apply)."""
    frame = con.execute(f"select * from {SYNC_SCHEMA}.{model}").df()
    return validate_frame(frame, model, expectations_dir=paths.expectations_dir())


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
        name=CHECK_NAME,
        blocking=True,
        description=f"The Great Expectations suite {model} (expectations/{model}.json) passes on the whole table.",
    )
    def gx_check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.connect() as con:
            outcome = validate_sync_table(con, model)
        if not outcome.success:
            context.log.error(f"{model}: " + " ".join(outcome.failures))
        return dg.AssetCheckResult(passed=outcome.success, severity=dg.AssetCheckSeverity.ERROR,
                                   metadata=check_metadata(outcome))

    return gx_check

"""One asset per destination: deliver a checked sync model through the ledger, to the vendor or the outbox.

A sync asset depends on its sync model, whose dbt tests and Great Expectations check are blocking: when one
fails, the sync does not run in that run. The asset also validates the rows it is about to send with the same
suite itself, so that materialising it alone (from the UI, say) cannot deliver a table that fails its suite.

The destination is the vendor when its credential resource holds a secret (declared with `dg.EnvVar`), otherwise
the local outbox. A sync that leaves records rejected or to retry fails its step after recording them, so the run
says so; the ledger retries them next run. The destinations themselves are registered in `lib/sync/registry.py`.
"""


import dagster as dg

from orchestration.defs.quality.volumes import VOLUMES_KEY
from orchestration.defs.resources import (
    OutboxResource,
    QualityResource,
    VendorCredentials,
    WarehouseResource,
    credentials_key,
)
from orchestration.lib.names import DESTINATIONS_GROUP, SYNC_SCHEMA
from orchestration.lib.sync.delivery import DeliverySummary, deliver, read_records
from orchestration.lib.sync.destinations import Destination, DestinationError, DestinationSpec
from orchestration.lib.sync.outbox import OutboxDestination
from orchestration.lib.sync.registry import DESTINATIONS
from orchestration.lib.validation import validate_sync_table


def choose_destination(spec: DestinationSpec, credentials: VendorCredentials, outbox: OutboxResource,
                       run_id: str) -> Destination:
    if credentials.credential:
        return spec.connect(credentials.credential, credentials.base_url)
    return OutboxDestination(outbox.directory, spec.name, run_id)


def summary_metadata(summary: DeliverySummary) -> dict[str, dg.MetadataValue]:
    return {
        "delivery_summary": dg.MetadataValue.text(summary.sentence()),
        "destination": dg.MetadataValue.text(summary.destination),
        "records": dg.MetadataValue.int(summary.records),
        "unchanged": dg.MetadataValue.int(summary.unchanged),
        "delivered": dg.MetadataValue.int(summary.delivered),
        "rejected": dg.MetadataValue.int(summary.rejected),
        "retryable": dg.MetadataValue.int(summary.retryable),
        "expired": dg.MetadataValue.int(summary.expired),
        "dagster/row_count": dg.MetadataValue.int(summary.delivered),
    }


def build_sync_asset(spec: DestinationSpec) -> dg.AssetsDefinition:
    credentials = credentials_key(spec.asset_name)

    @dg.asset(
        key=dg.AssetKey([DESTINATIONS_GROUP, spec.asset_name]),
        group_name=DESTINATIONS_GROUP,
        deps=[dg.AssetKey([SYNC_SCHEMA, spec.model]), VOLUMES_KEY],
        kinds={spec.kind},
        required_resource_keys={"warehouse", "outbox", "quality", credentials},
        automation_condition=dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed(),
        description=f"{SYNC_SCHEMA}.{spec.model} delivered to {spec.name} (or the outbox without "
        f"{spec.credential_setting}), each record once per payload, through the ledger. {spec.description}".strip(),
    )
    def sync_asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        resources = context.resources
        warehouse: WarehouseResource = resources.warehouse
        quality: QualityResource = resources.quality
        try:
            destination = choose_destination(spec, getattr(resources, credentials), resources.outbox, context.run_id)
            destination.check()
            with warehouse.connect() as con:
                gate = validate_sync_table(con, spec.model, quality.directory)
                if not gate.success:
                    raise dg.Failure(description=f"{SYNC_SCHEMA}.{spec.model} fails its Great Expectations suite; "
                                     f"nothing was delivered: {' '.join(gate.failures)}", allow_retries=False)
                records = read_records(con, f"{SYNC_SCHEMA}.{spec.model}")
                summary = deliver(con, destination, records, context.run_id, resend_changed=spec.resend_changed,
                                  progress=lambda s: context.log.info(
                                      f"{s.destination}: {s.sent:,} of {s.records - s.unchanged:,} sent"))
        except DestinationError as error:
            raise dg.Failure(description=str(error), allow_retries=False) from None
        context.log.info(summary.sentence())
        if not summary.complete:
            # records that may go through on another attempt (a vendor outage outlasting the HTTP client's own
            # retries) retry the step, by the job's retry policy: an event whose send window closes before the
            # next run would otherwise expire unsent; rejected records alone are the vendor's verdict
            raise dg.Failure(description=summary.sentence() + " First problems: " + "; ".join(summary.problems),
                             metadata=summary_metadata(summary), allow_retries=summary.retryable > 0)
        return dg.MaterializeResult(metadata=summary_metadata(summary))

    return sync_asset


@dg.definitions
def destinations() -> dg.Definitions:
    return dg.Definitions(assets=[build_sync_asset(spec) for spec in DESTINATIONS])

"""One asset per destination: deliver a checked sync model through the ledger, to the vendor or the outbox.

A sync asset depends on its sync model, whose dbt tests and Great Expectations check are blocking: when one
fails, the sync does not run in that run. The asset also validates the rows it is about to send with the same
suite itself, so that materialising it alone (from the UI, say) cannot deliver a table that fails its suite.

The destination is the vendor when its credential is in the environment (HUBSPOT_ACCESS_TOKEN, KLAVIYO_API_KEY;
base URLs HUBSPOT_BASE_URL, KLAVIYO_BASE_URL), read when the asset runs and never logged; otherwise the local
outbox. A sync that leaves records rejected or to retry fails its step after recording them, so the run says
so; the ledger retries them next run.
"""


import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from orchestration.defs.quality.checks import SYNC_SCHEMA, validate_sync_table
from orchestration.defs.resources import WarehouseResource
from orchestration.lib.sync.delivery import DeliverySummary, deliver, read_records
from orchestration.lib.sync.destinations import Destination, DestinationError
from orchestration.lib.sync.hubspot import HubSpotCompanies
from orchestration.lib.sync.klaviyo import KlaviyoEvents
from orchestration.lib.sync.outbox import OutboxDestination

DESTINATIONS_GROUP = "sync"


@dataclass(frozen=True)
class SyncSpec:
    asset_name: str  # the Dagster asset, destinations/<asset_name>
    model: str  # the dbt sync model it delivers, sync.<model>
    vendor: str  # the destination's name, also the outbox folder
    credential_env: str  # set -> the vendor; unset -> the outbox
    vendor_factory: Callable[[Mapping[str, str]], Destination]
    resend_changed: bool  # the vendor updates in place (HubSpot); events are final once delivered (Klaviyo)


SYNCS = (
    SyncSpec("hubspot_companies", "sync_hubspot__companies", "hubspot.companies", "HUBSPOT_ACCESS_TOKEN",
             HubSpotCompanies.from_environment, resend_changed=True),
    SyncSpec("klaviyo_cross_sell_events", "sync_klaviyo__cross_sell_events", "klaviyo.events", "KLAVIYO_API_KEY",
             KlaviyoEvents.from_environment, resend_changed=False),
)


class OutboxResource(dg.ConfigurableResource):
    """The local outbox folder: where syncs deliver when a vendor's credential is not set."""

    path: str

    @property
    def directory(self) -> Path:
        return Path(self.path)


def choose_destination(spec: SyncSpec, env: Mapping[str, str], outbox: Path, run_id: str) -> Destination:
    if env.get(spec.credential_env):
        return spec.vendor_factory(env)
    return OutboxDestination(outbox, spec.vendor, run_id)


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


def build_sync_asset(spec: SyncSpec) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey(["destinations", spec.asset_name]),
        group_name=DESTINATIONS_GROUP,
        deps=[dg.AssetKey([SYNC_SCHEMA, spec.model])],
        kinds={spec.vendor.split(".")[0]},
        automation_condition=dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed(),
        description=f"sync.{spec.model} delivered to {spec.vendor} (or the outbox without {spec.credential_env}), "
        "each record once per payload, through the ledger sync.delivery_ledger.",
    )
    def sync_asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                   outbox: OutboxResource) -> dg.MaterializeResult:
        destination = choose_destination(spec, os.environ, outbox.directory, context.run_id)
        try:
            destination.check()
            with warehouse.connect() as con:
                gate = validate_sync_table(con, spec.model)
                if not gate.success:
                    raise dg.Failure(description=f"sync.{spec.model} fails its Great Expectations suite; nothing "
                                     f"was delivered: {' '.join(gate.failures)}", allow_retries=False)
                records = read_records(con, f"{SYNC_SCHEMA}.{spec.model}")
                summary = deliver(con, destination, records, context.run_id, resend_changed=spec.resend_changed,
                                  progress=lambda s: context.log.info(
                                      f"{s.destination}: {s.sent:,} of {s.records - s.unchanged:,} sent"))
        except DestinationError as error:
            raise dg.Failure(description=str(error), allow_retries=False) from None
        context.log.info(summary.sentence())
        if not summary.complete:
            raise dg.Failure(description=summary.sentence() + " First problems: " + "; ".join(summary.problems),
                             metadata=summary_metadata(summary), allow_retries=False)
        return dg.MaterializeResult(metadata=summary_metadata(summary))

    return sync_asset


sync_assets = [build_sync_asset(spec) for spec in SYNCS]

"""The one protocol every destination follows: `check()`, then `write(batch)` reporting each record's fate.

A record is one row of a sync model: a stable key (the external id the destination upserts by) and the payload
the destination gets. `write` never raises for a record the destination turned down: it reports it as
`rejected` with the vendor's reason, or `retryable` when the vendor or the network failed it for now. It raises
`DestinationError` only when the destination as a whole cannot be used (a bad token, an unreachable host after
all retries), in one sentence naming the destination and the setting to fix.

Each destination module describes itself with one `DestinationSpec` (`SPEC`), and `registry.DESTINATIONS` lists
them: adding a destination is a new module and one line there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Status = Literal["delivered", "rejected", "retryable"]


@dataclass(frozen=True)
class Record:
    key: str  # stable external id: HubSpot's id property value, Klaviyo's event unique_id
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class RecordOutcome:
    key: str
    status: Status
    external_id: str | None = None  # the destination's own id, when it returns one
    detail: str | None = None  # the vendor's reason for a rejected or retryable record


class DestinationError(Exception):
    """The destination cannot be used at all; the message is one sentence naming what to fix."""


class Destination(Protocol):
    name: str  # e.g. "hubspot.companies", "klaviyo.events", also the outbox file's name
    batch_size: int

    def check(self) -> None:
        """Raise DestinationError when the destination cannot be written to (no or bad credentials, unreachable)."""

    def write(self, batch: Sequence[Record]) -> list[RecordOutcome]:
        """Deliver one batch (at most batch_size records); one outcome per record, in any order."""


@dataclass(frozen=True)
class DestinationSpec:
    """One destination: what it delivers, where the orchestration shows it, and how to connect to it.

    `connect(credential, base_url=None, **client_options)` builds the destination from the secret the caller read
    (nothing in lib reads the environment); an empty credential raises DestinationError naming
    `credential_setting`, an empty or None base URL means the vendor's own host, and `client_options` go to the
    HTTP client (timeout, max_attempts, sleep, transport, ...).
    """

    name: str  # ledger destination name and outbox folder, e.g. "hubspot.companies"
    asset_name: str  # the Dagster asset destinations/<asset_name>, e.g. "hubspot_companies"
    model: str  # the dbt sync model sync.<model>, e.g. "sync_hubspot__companies"
    kind: str  # Dagster kind tag, e.g. "hubspot"
    credential_setting: str  # the environment variable holding the secret, e.g. "HUBSPOT_ACCESS_TOKEN"
    base_url_setting: str  # the environment variable for the base URL, e.g. "HUBSPOT_BASE_URL"
    connect: Callable[..., Destination]  # connect(credential: str, base_url: str | None = None, **client_options)
    resend_changed: bool  # True: the vendor updates in place (HubSpot); False: events are final once delivered
    description: str = ""  # one sentence for the Dagster asset

"""The delivery ledger: what was sent where, with which payload hash, and what came back. Warehouse-side.

`sync.delivery_ledger` holds one row per destination and record key: the last payload hash tried, its status
(`pending` while a batch is in flight, then `delivered`, `rejected` or `retryable`; `expired` when it left the
sync model before it was delivered), the destination's id, the vendor's reason, attempts and times.
`sync.delivery_log` appends one row per attempt outcome and expiry.

It decides what a run sends: a record goes out when the destination has never had it, when its last attempt did
not end `delivered` (rejected and retryable records are retried every run while the sync model holds them), or,
for destinations that update in place (HubSpot), when its payload hash changed; an event destination (Klaviyo
keeps the first event of a unique_id) never gets a delivered key again. Rows are written `pending` before their
batch leaves, so a crash between sending and recording leaves them pending and the next run sends them again;
destinations upsert by the record key, so that replay cannot duplicate. A record not delivered that is no longer
in the sync model is marked `expired` and counted, never dropped silently.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from orchestration.lib.names import SYNC_SCHEMA
from orchestration.lib.sync.destinations import Record, RecordOutcome

LEDGER = f"{SYNC_SCHEMA}.delivery_ledger"
LOG = f"{SYNC_SCHEMA}.delivery_log"


def payload_hash(payload: Mapping[str, Any]) -> str:
    """SHA-256 of the payload as canonical JSON (sorted keys, no spaces; dates and decimals as text)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Commit the statements inside together, or none of them."""
    con.begin()
    try:
        yield
    except BaseException:
        con.rollback()
        raise
    con.commit()


# The columns the ledger (a record's latest state) and the log (every attempt) share: which record, which
# payload, and what came back.
OUTCOME_COLUMNS = """
            destination varchar not null,
            record_key varchar not null,
            payload_hash varchar not null,
            status varchar not null,
            external_id varchar,
            detail varchar,"""


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ledger and the log if they are missing (once per delivery, before anything below)."""
    con.execute(f"create schema if not exists {SYNC_SCHEMA}")
    con.execute(f"""
        create table if not exists {LEDGER} ({OUTCOME_COLUMNS}
            attempts integer not null,
            run_id varchar not null,
            first_attempted_at timestamp not null,
            last_attempted_at timestamp not null,
            delivered_at timestamp,
            primary key (destination, record_key)
        )""")
    con.execute(f"""
        create table if not exists {LOG} ({OUTCOME_COLUMNS}
            run_id varchar not null,
            attempted_at timestamp not null
        )""")


@dataclass(frozen=True)
class Pending:
    """A record this run must send, with its payload hash."""

    record: Record
    payload_hash: str


def records_to_send(con: duckdb.DuckDBPyConnection, destination: str, records: Sequence[Record],
                    resend_changed: bool = True) -> tuple[list[Pending], int]:
    """(the records to send, how many are skipped as already delivered: with the same payload, or at all when
    `resend_changed` is False)."""
    hashed = [Pending(record, payload_hash(record.payload)) for record in records]
    delivered = dict(con.execute(
        f"select record_key, payload_hash from {LEDGER} where destination = ? and status = 'delivered'",
        [destination]).fetchall())
    to_send = [item for item in hashed if item.record.key not in delivered
               or (resend_changed and delivered[item.record.key] != item.payload_hash)]
    return to_send, len(hashed) - len(to_send)


def expire_missing(con: duckdb.DuckDBPyConnection, destination: str, current_keys: Iterable[str], run_id: str,
                   now: datetime) -> int:
    """Mark `expired` the records never delivered that the sync model no longer holds; how many there were."""
    con.execute("create or replace temporary table current_sync_keys as select unnest(?::varchar[]) as record_key",
                [list(current_keys)])
    with transaction(con):
        con.execute(f"""
            create or replace temporary table stale_sync_keys as
            select record_key, payload_hash, status, external_id
            from {LEDGER}
            where destination = ? and status in ('pending', 'retryable', 'rejected')
                and record_key not in (select record_key from current_sync_keys)""", [destination])
        con.execute(f"""
            insert into {LOG}
            select ?, record_key, payload_hash, 'expired', external_id,
                'left the sync model before it was delivered (last: ' || status || ')', ?, ?
            from stale_sync_keys""", [destination, run_id, now])
        con.execute(f"""
            update {LEDGER} set status = 'expired', run_id = ?, last_attempted_at = ?
            where destination = ? and record_key in (select record_key from stale_sync_keys)""",
                    [run_id, now, destination])
        expired = con.execute("select count(*) from stale_sync_keys").fetchone()[0]
    con.execute("drop table current_sync_keys")
    con.execute("drop table stale_sync_keys")
    return expired


def mark_pending(con: duckdb.DuckDBPyConnection, destination: str, batch: Iterable[Pending], run_id: str,
                 now: datetime) -> None:
    """Write-ahead: the batch is about to leave. Committed before sending. One statement for the whole batch."""
    items = list(batch)
    with transaction(con):
        con.execute(f"""
            insert into {LEDGER} (destination, record_key, payload_hash, status, attempts, run_id,
                                  first_attempted_at, last_attempted_at)
            select $destination, unnest($keys::varchar[]), unnest($hashes::varchar[]), 'pending', 0, $run_id,
                $now, $now
            on conflict (destination, record_key) do update set
                payload_hash = excluded.payload_hash, status = 'pending', run_id = excluded.run_id,
                last_attempted_at = excluded.last_attempted_at
            """, {"destination": destination, "keys": [item.record.key for item in items],
                  "hashes": [item.payload_hash for item in items], "run_id": run_id, "now": now})


def record_outcomes(con: duckdb.DuckDBPyConnection, destination: str, batch: Sequence[Pending],
                    outcomes: Sequence[RecordOutcome], run_id: str, now: datetime) -> list[RecordOutcome]:
    """Store what came back for a batch: the ledger's current state and one log row per record.

    Returns the outcome stored for each record of the batch, in batch order."""
    hashes = {item.record.key: item.payload_hash for item in batch}
    by_key = {outcome.key: outcome for outcome in outcomes if outcome.key in hashes}
    # a destination that forgot a record must not make it look delivered: it stays retryable
    stored = [by_key.get(key) or RecordOutcome(key, "retryable", detail="no outcome reported") for key in hashes]
    outcome_rows = """(select unnest($keys::varchar[]) as record_key, unnest($hashes::varchar[]) as payload_hash,
                               unnest($statuses::varchar[]) as status, unnest($ids::varchar[]) as external_id,
                               unnest($details::varchar[]) as detail)"""
    parameters = {"keys": [outcome.key for outcome in stored], "hashes": [hashes[outcome.key] for outcome in stored],
                  "statuses": [outcome.status for outcome in stored],
                  "ids": [outcome.external_id for outcome in stored], "details": [outcome.detail for outcome in stored],
                  "destination": destination, "run_id": run_id, "now": now}
    with transaction(con):
        con.execute(f"""
            update {LEDGER} set status = outcomes.status,
                external_id = coalesce(outcomes.external_id, {LEDGER}.external_id), detail = outcomes.detail,
                run_id = $run_id, attempts = attempts + 1, last_attempted_at = $now,
                delivered_at = case when outcomes.status = 'delivered' then $now else delivered_at end
            from {outcome_rows} as outcomes
            where {LEDGER}.destination = $destination and {LEDGER}.record_key = outcomes.record_key
            """, parameters)
        con.execute(f"""
            insert into {LOG}
            select $destination, record_key, payload_hash, status, external_id, detail, $run_id, $now
            from {outcome_rows}
            """, parameters)
    return stored

"""Deliver a sync model's rows to one destination, batch by batch, through the ledger.

The one place where batching happens for every destination (retries and rate limits live in the HTTP client).
Records come from a sync model's rows: `record_key` is the key, every other column is the payload, as JSON-ready
values (`values.json_value`). The key column never reaches a payload, so destinations need not filter it out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from orchestration.lib.names import RECORD_KEY
from orchestration.lib.sync import ledger
from orchestration.lib.sync.destinations import Destination, Record, RecordOutcome
from orchestration.lib.sync.values import json_value


@dataclass
class DeliverySummary:
    destination: str
    records: int = 0
    unchanged: int = 0  # already delivered with the same payload: not sent again
    sent: int = 0
    delivered: int = 0
    rejected: int = 0
    retryable: int = 0
    expired: int = 0  # never delivered, and no longer in the sync model (e.g. a send window that closed)
    problems: list[str] = field(default_factory=list)  # a few vendor reasons, for the run summary

    @property
    def complete(self) -> bool:
        return self.rejected == 0 and self.retryable == 0

    def sentence(self) -> str:
        text = (f"{self.destination}: {self.records:,} records, {self.delivered:,} delivered, "
                f"{self.unchanged:,} unchanged since their last delivery")
        if self.rejected or self.retryable:
            text += f", {self.rejected:,} rejected, {self.retryable:,} to retry next run"
        if self.expired:
            text += f", {self.expired:,} earlier failures expired (no longer in the sync model)"
        return text + "."


def records_from_rows(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[Record]:
    """One Record per row: the record_key column is the key, the other columns (JSON-ready) the payload."""
    if RECORD_KEY not in columns:
        raise ValueError(f"a sync model needs a {RECORD_KEY} column; it has {', '.join(columns)}.")
    key_index = columns.index(RECORD_KEY)
    records = []
    for row in rows:
        if row[key_index] is None:
            raise ValueError(f"a row has no {RECORD_KEY}; every record needs its key.")
        payload = {name: json_value(value) for name, value in zip(columns, row, strict=True) if name != RECORD_KEY}
        records.append(Record(key=str(row[key_index]), payload=payload))
    keys = Counter(record.key for record in records)
    repeated = [key for key, count in keys.items() if count > 1]
    if repeated:
        raise ValueError(f"{RECORD_KEY} {repeated[0]!r} appears {keys[repeated[0]]} times; keys must be unique.")
    return records


def read_records(con: duckdb.DuckDBPyConnection, relation: str) -> list[Record]:
    result = con.execute(f"select * from {relation} order by {RECORD_KEY}")
    columns = [column[0] for column in result.description]
    return records_from_rows(columns, result.fetchall())


def deliver(con: duckdb.DuckDBPyConnection, destination: Destination, records: Sequence[Record], run_id: str,
            now: Callable[[], datetime] = lambda: datetime.now(UTC).replace(tzinfo=None),
            progress: Callable[[DeliverySummary], None] | None = None,
            resend_changed: bool = True) -> DeliverySummary:
    """Send what the ledger says is due, one batch at a time: pending first (committed), then the outcomes.

    `records` is the whole sync model: what is not in it any more and was never delivered expires. With
    `resend_changed` False (events), a key once delivered is never sent again, whatever its payload.
    """
    summary = DeliverySummary(destination=destination.name, records=len(records))
    ledger.ensure_tables(con)
    summary.expired = ledger.expire_missing(con, destination.name, [record.key for record in records], run_id,
                                            now())
    to_send, summary.unchanged = ledger.records_to_send(con, destination.name, records, resend_changed)
    for start in range(0, len(to_send), destination.batch_size):
        batch = to_send[start:start + destination.batch_size]
        ledger.mark_pending(con, destination.name, batch, run_id, now())
        outcomes = destination.write([item.record for item in batch])
        count(summary, ledger.record_outcomes(con, destination.name, batch, outcomes, run_id, now()))
        if progress:
            progress(summary)
    return summary


def count(summary: DeliverySummary, stored: Sequence[RecordOutcome]) -> None:
    """Add a batch's stored outcomes (one per record sent) to the summary."""
    summary.sent += len(stored)
    for outcome in stored:
        setattr(summary, outcome.status, getattr(summary, outcome.status) + 1)
        if outcome.status != "delivered" and len(summary.problems) < 5:
            summary.problems.append(f"{outcome.key}: {outcome.detail or 'no outcome reported'}")

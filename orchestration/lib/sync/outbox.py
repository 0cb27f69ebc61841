"""The local outbox: the destination used when a vendor's credentials are not set.

Each run appends the records it delivers to `<outbox>/<destination>/<run_id>.jsonl`, one JSON object per line
(`key` and `payload`, exactly what the vendor would get), flushed and fsync'ed per batch. The ledger names it
`outbox:<destination>`, so setting the vendor's token later delivers everything to the vendor as well.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from orchestration.lib.sync.destinations import DestinationError, Record, RecordOutcome


class OutboxDestination:
    batch_size = 500

    def __init__(self, directory: Path, vendor_name: str, run_id: str) -> None:
        self.name = f"outbox:{vendor_name}"
        self.file = directory / vendor_name / f"{run_id}.jsonl"

    def check(self) -> None:
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DestinationError(f"The outbox folder {self.file.parent} cannot be created ({error.strerror}); "
                                   "set --outbox or EXPANSION_OUTBOX to a writable folder.") from error

    def write(self, batch: Sequence[Record]) -> list[RecordOutcome]:
        self.check()
        lines = "".join(json.dumps({"key": record.key, "payload": dict(record.payload)}, ensure_ascii=False,
                                   sort_keys=True, default=str) + "\n" for record in batch)
        with self.file.open("a", encoding="utf-8") as handle:
            handle.write(lines)
            handle.flush()
            os.fsync(handle.fileno())
        return [RecordOutcome(record.key, "delivered", external_id=f"{self.file.name}") for record in batch]

"""The local outbox: the destination used when a vendor's credentials are not set.

Each run appends the records it delivers to `<outbox>/<destination>/<run_id>.jsonl`, one JSON object per line
(`key`, `payload_sha256` and `payload`, exactly what the vendor would get), flushed and fsync'ed per batch. The
ledger names it `outbox:<destination>`, so setting the vendor's token later delivers everything to the vendor as
well. A record whose key and payload hash are already in one of the folder's files is not written again (a run
that crashed after writing a batch but before the ledger recorded it resends that batch).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from orchestration.lib.sync.destinations import DestinationError, Record, RecordOutcome
from orchestration.lib.sync.ledger import payload_hash


class OutboxDestination:
    batch_size = 500

    def __init__(self, directory: Path, vendor_name: str, run_id: str) -> None:
        self.name = f"outbox:{vendor_name}"
        self.file = directory / vendor_name / f"{run_id}.jsonl"
        self._written: set[tuple[str, str]] | None = None  # (key, payload hash) in the folder's files

    def written(self) -> set[tuple[str, str]]:
        if self._written is None:
            self._written = {(line["key"], line["payload_sha256"])
                             for path in sorted(self.file.parent.glob("*.jsonl"))
                             for line in map(json.loads, path.read_text(encoding="utf-8").splitlines())}
        return self._written

    def check(self) -> None:
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DestinationError(f"The outbox folder {self.file.parent} cannot be created ({error.strerror}); "
                                   "set --outbox or EXPANSION_OUTBOX to a writable folder.") from error

    def write(self, batch: Sequence[Record]) -> list[RecordOutcome]:
        self.check()
        written = self.written()
        fresh = [(record, payload_hash(record.payload)) for record in batch]
        fresh = [(record, digest) for record, digest in fresh if (record.key, digest) not in written]
        lines = "".join(json.dumps({"key": record.key, "payload_sha256": digest, "payload": dict(record.payload)},
                                   ensure_ascii=False, sort_keys=True, default=str) + "\n" for record, digest in fresh)
        if lines:
            with self.file.open("a", encoding="utf-8") as handle:
                handle.write(lines)
                handle.flush()
                os.fsync(handle.fileno())
        written.update((record.key, digest) for record, digest in fresh)
        return [RecordOutcome(record.key, "delivered", external_id=f"{self.file.name}") for record in batch]

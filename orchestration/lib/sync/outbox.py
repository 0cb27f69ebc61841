"""The local outbox: the destination used when a vendor's credentials are not set.

Each run appends the records it delivers to `<outbox>/<destination>/<run_id>.jsonl`, one JSON object per line
(`key`, `payload_sha256` and `payload`, exactly what the vendor would get), flushed and fsync'ed per batch. The
ledger names it `outbox:<destination>`, so setting the vendor's token later delivers everything to the vendor as
well. A record whose key and payload hash are already in one of the folder's files is not written again (a run
that crashed after writing a batch but before the ledger recorded it resends that batch).

The lines hold personal data (e-mail addresses, names), so the outbox is owner-only whatever the umask: the folders
it creates are 0o700 (and a destination's own folder is made so if it existed), its files 0o600.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from orchestration.lib.sync.destinations import DestinationError, Record, RecordOutcome
from orchestration.lib.sync.ledger import payload_hash

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(folder: Path) -> None:
    """Create `folder` and any missing parent owner-only (0o700, not the umask's), and make `folder` so."""
    missing = []
    for path in (folder, *folder.parents):
        if path.is_dir():
            break
        missing.append(path)
    for path in reversed(missing):
        path.mkdir(mode=FOLDER_MODE, exist_ok=True)
        os.chmod(path, FOLDER_MODE)
    os.chmod(folder, FOLDER_MODE)


def append_private(path: Path, text: str) -> None:
    """Append `text` to `path`, created 0o600 (an older, looser file is made so), flushed and fsync'ed."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), FILE_MODE)
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


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
            private_folder(self.file.parent)
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
            append_private(self.file, lines)
        written.update((record.key, digest) for record, digest in fresh)
        return [RecordOutcome(record.key, "delivered", external_id=f"{self.file.name}") for record in batch]

"""Opening the DuckDB warehouse file, with the one error a user can cause said in one sentence.

DuckDB lets one process write a file, and while another process holds it (even read-only) a writer cannot open
it; DuckDB's own message names the lock and the PID among advice for its command line. `connect` turns that into
one sentence naming the file and the process holding it.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, ClassVar

import duckdb

LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


class WarehouseError(Exception):
    """The warehouse file cannot be opened; the message is one sentence naming it and what to do."""


def process_description(pid: int) -> str:
    """`PID 123, python -m x` from /proc where it can be read, else `PID 123`."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        command = ""
    command = " ".join(command.split())
    if len(command) > 80:
        command = command[:79] + "…"
    return f"PID {pid}, {command}" if command else f"PID {pid}"


def lock_sentence(path: Path, message: str) -> str | None:
    """The sentence for DuckDB's lock error `message` on `path`, or None when it is another error."""
    match = LOCK_HOLDER.search(message)
    if "Could not set lock" not in message:
        return None
    holder = process_description(int(match.group("pid"))) if match else "another process"
    return (f"The warehouse {path} is held by another process ({holder}); DuckDB lets only one process use a file "
            "while it is written, so stop that process or give another --warehouse, then run again.")


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse (UTC session), or WarehouseError in one sentence."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as error:
        sentence = lock_sentence(path, str(error))
        if sentence is None:
            detail = str(error).strip().splitlines()[0].removeprefix("IO Error: ").rstrip(".")
            sentence = f"The warehouse {path} cannot be opened: {detail}."
        raise WarehouseError(sentence) from None
    con.execute("set TimeZone = 'UTC'")
    return con


def ensure_writable(path: Path) -> None:
    """Open and close the warehouse for writing: WarehouseError now rather than in the middle of a run."""
    connect(path).close()


class RefreshLock:
    """The one refresh of a warehouse at a time: an exclusive `flock` on `<warehouse>.lock`, held for a whole run.

    The file names the run holding it (run id, PID, start), so a second refresh of the same warehouse stops in
    one sentence naming both; the kernel releases the lock when the holder ends, even killed with SIGKILL, so a
    dead run never leaves the warehouse locked. Readers never take it: they read the published marts. Within one
    process the lock is re-entrant (`expansion run` holds it around the job, whose warehouse resource asks again).
    """

    _held_here: ClassVar[set[Path]] = set()

    def __init__(self, warehouse: Path, run_id: str) -> None:
        self.warehouse = warehouse
        self.path = (warehouse.parent.resolve() / (warehouse.name + ".lock"))
        self.run_id = run_id
        self._file: IO[str] | None = None
        self._nested = False

    def holder(self) -> str:
        """`run 1234abcd (PID 5, started 2026-12-03 10:00:00 UTC)` from the lock file, or `another run`."""
        try:
            held = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return "another run"
        if not held.get("run_id"):
            return "another run"
        return f"run {held['run_id']} ({process_description(int(held['pid']))}, started {held['started']})"

    def acquire(self) -> RefreshLock:
        if self.path in RefreshLock._held_here:
            self._nested = True
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        file = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            raise WarehouseError(f"The warehouse {self.warehouse} is being refreshed by {self.holder()}; one "
                                 "refresh writes a warehouse at a time, so wait for that run to end (or stop it), "
                                 "then run again.") from None
        file.seek(0)
        file.truncate()
        file.write(json.dumps({"run_id": self.run_id, "pid": os.getpid(),
                               "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")}))
        file.flush()
        self._file = file
        RefreshLock._held_here.add(self.path)
        return self

    def release(self) -> None:
        if self._nested:
            self._nested = False
            return
        if self._file is not None:
            RefreshLock._held_here.discard(self.path)
            self._file.seek(0)
            self._file.truncate()
            self._file.flush()
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> RefreshLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

"""Opening the DuckDB warehouse file, with the one error a user can cause said in one sentence.

DuckDB lets one process write a file, and while another process holds it (even read-only) a writer cannot open
it; DuckDB's own message names the lock and the PID among advice for its command line. `connect` turns that into
one sentence naming the file and the process holding it.
"""

from __future__ import annotations

import re
from pathlib import Path

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

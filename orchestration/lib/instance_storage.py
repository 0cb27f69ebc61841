"""The Dagster instance's SQLite files, committed without waiting for the disk on every event.

A run stores about 1,200 events (a materialisation, a planned and an evaluated check per dbt test, each output)
in `DAGSTER_HOME`'s SQLite files, each in a connection of its own that commits and closes. SQLite waits for the
disk at every commit and every close (about 7 ms an event here, 15–50 s a run); with `synchronous = OFF` it hands
the writes to the operating system and goes on (about 1.7 ms an event). A process killed mid-run, even with
SIGKILL, loses nothing it committed (the operating system still writes it); a power cut or kernel crash may
damage the instance's history (delete `dagster_home/history` to start it afresh), never the warehouse, which
DuckDB writes and syncs itself. Applied to the SQLite connections SQLAlchemy opens in this process: Dagster's.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine

_installed = False


def _set_synchronous_off(dbapi_connection: object, _record: object) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous = OFF")


def commit_without_waiting_for_the_disk() -> None:
    """Install the connection hook once per process."""
    global _installed
    if not _installed:
        event.listen(Engine, "connect", _set_synchronous_off)
        _installed = True

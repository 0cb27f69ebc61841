"""Resources: where the landing files, the warehouse and the outbox are. Switched by environment, not code."""


from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.lib import paths


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file that the loader writes and dbt builds in."""

    path: str

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(self.path)
        try:
            con.execute("set TimeZone = 'UTC'")
            yield con
        finally:
            con.close()


class LandingResource(dg.ConfigurableResource):
    """The landing directory holding one entry per raw table (see the data contract)."""

    raw_dir: str
    max_quarantine_share: float = 0.05  # a table quarantining a larger share of its rows fails its check

    @property
    def directory(self) -> Path:
        return Path(self.raw_dir)


def env_or_default(name: str, default: Path) -> str:
    return str(paths.setting(name, default))

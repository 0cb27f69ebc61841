"""The resources every asset uses, configured from one `Settings` object.

The code location (`dagster dev`, the daemon) builds `Settings` from the environment once, here; `expansion run`
builds its own from the command line and hands it to the same resources as run configuration
(`resource_config`). Vendor secrets are declared with `dg.EnvVar`: Dagster reads them when a sync runs.
"""


from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource
from packaging import version
from pydantic import Field, PrivateAttr

from orchestration.lib import instance_storage, paths, warehouse
from orchestration.lib.contract import Table
from orchestration.lib.loader import LoadResult, load_table
from orchestration.lib.settings import Settings
from orchestration.lib.spark import warehouse as spark_warehouse
from orchestration.lib.sync.registry import DESTINATIONS


@contextmanager
def one_sentence_failure(*errors: type[Exception]) -> Iterator[None]:
    """Fail the step with the message of any of `errors` (each a sentence for the user), with no traceback and no
    step retry: retrying cannot mend a held warehouse, a missing Spark or a missing mart."""
    try:
        yield
    except errors as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse the loader writes and dbt builds in: the DuckDB file, or Spark by `engine` (EXPANSION_TARGET).

    On Spark the data lives in the Spark warehouse `spark_dir`; the DuckDB file keeps the ledger and the volume
    history and reads the Spark tables through views (lib/spark/warehouse.py), so `connect` serves both engines.
    """

    path: str
    engine: str = "duckdb"  # duckdb or spark
    spark_dir: str = ""
    spark_master: str = "local[2]"

    @property
    def on_spark(self) -> bool:
        return self.engine == "spark"

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator["WarehouseResource"]:
        """Hold the warehouse's refresh lock for the whole run (CLI, schedule, sensor or UI alike): a second
        refresh of the same warehouse stops before any step, in one sentence naming the run that holds it."""
        lock = warehouse.RefreshLock(Path(self.path), context.run_id or "a run outside Dagster")
        with one_sentence_failure(warehouse.WarehouseError):
            lock.acquire()
        try:
            yield self
        finally:
            lock.release()

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A UTC connection, closed afterwards; a file held by another process fails the step in one sentence.

        On Spark the views of the Spark tables are brought up to date first (a read-only connection cannot)."""
        if self.on_spark:
            spark_warehouse.refresh_views_of(Path(self.path), Path(self.spark_dir))
        with one_sentence_failure(warehouse.WarehouseError):
            con = warehouse.connect(Path(self.path), read_only=read_only)
        try:
            yield con
        finally:
            con.close()

    def load_table(self, con: duckdb.DuckDBPyConnection, landing: Path, table: Table, *, run_id: str,
                   full_refresh: bool) -> LoadResult:
        """Load one raw table with the engine's loader (the same contract rules on both)."""
        if not self.on_spark:
            return load_table(con, landing, table, run_id=run_id, full_refresh=full_refresh)
        from orchestration.lib.spark import loader as spark_loader
        from orchestration.lib.spark import session as spark_session

        with one_sentence_failure(spark_session.SparkUnavailable):
            spark = spark_session.session(Path(self.spark_dir), self.spark_master)
        result = spark_loader.load_table(spark, landing, table, run_id=run_id, full_refresh=full_refresh)
        spark_warehouse.refresh_views(con, Path(self.spark_dir))
        return result



class LandingResource(dg.ConfigurableResource):
    """The landing directory holding one entry per raw table (see the data contract)."""

    raw_dir: str
    max_quarantine_share: float  # a table quarantining a larger share of its rows fails its check
    full_refresh: bool = False  # load every table from all its files, whatever the ledger says

    @property
    def directory(self) -> Path:
        return Path(self.raw_dir)


class AsOfResource(dg.ConfigurableResource):
    """The run's as-of date: the end of this day, UTC, is the instant everything relative to "now" uses.

    Empty means today (UTC), fixed once when the run starts, so that the loader's gates and dbt see one day.
    """

    as_of_date: str = ""
    _day: date | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._day = self.resolve()

    def resolve(self) -> date:
        return date.fromisoformat(self.as_of_date) if self.as_of_date else datetime.now(UTC).date()

    @property
    def day(self) -> date:
        return self._day or self.resolve()

    @property
    def instant(self) -> datetime:
        """The first moment after the as-of date (UTC, naive, as the warehouse stores instants)."""
        return datetime.combine(self.day + timedelta(days=1), datetime.min.time())


class GatesResource(dg.ConfigurableResource):
    """The limits of the volume and freshness gates (see lib/volume.py and lib/freshness.py)."""

    volume_max_change: dict[str, float | None]
    freshness_hours: dict[str, float | None]
    accept_volume_change: list[str] = Field(default_factory=list)


class OutboxResource(dg.ConfigurableResource):
    """The local outbox folder: where syncs deliver when a vendor's credential is not set."""

    path: str

    @property
    def directory(self) -> Path:
        return Path(self.path)


class PublishResource(dg.ConfigurableResource):
    """Where the marts are published for BI tools (lib/publish.py)."""

    path: str

    @property
    def directory(self) -> Path:
        return Path(self.path)


class QualityResource(dg.ConfigurableResource):
    """Where the Great Expectations suites of the sync gates are."""

    expectations_dir: str

    @property
    def directory(self) -> Path:
        return Path(self.expectations_dir)


class DbtResource(DbtCliResource):
    """dagster-dbt's CLI resource, plus the folder where this code location's dbt runs keep their artifacts.

    On Spark (`target` spark) it stops this process's Spark JVM before dbt starts: dbt-spark's session opens the
    same metastore (embedded Derby, one JVM at a time). dbt's profile finds the Spark warehouse beside the
    warehouse file it is given (or EXPANSION_SPARK_WAREHOUSE), as `Settings.spark_dir` does.

    Before every `dbt build` dagster-dbt asks the dbt executable for its version (`dbt --version`, a process of
    its own: 1.8 s) and opens a dbt adapter in this process (the profile, the project, the adapter's imports:
    2.0 s), both on a tiny run's critical path. The version is that of the dbt-core installed beside this code
    (the executable is this environment's), and the adapter serves only dagster-dbt's `fetch_row_counts` and
    `fetch_column_metadata`, which this project does not call (the marts' metadata is read after the build, by
    `with_mart_metadata`): neither is done.
    """

    target_path: str

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        return None

    def cli(self, args: Any, **kwargs: Any) -> Any:
        if self.target == "spark":
            from orchestration.lib.spark import session as spark_session

            spark_session.stop()
        return super().cli(args, **kwargs)


class VendorCredentials(dg.ConfigurableResource):
    """One destination's secret and base URL; with no secret the sync delivers to the outbox instead."""

    credential: str | None = None
    base_url: str | None = None


def credentials_key(asset_name: str) -> str:
    """The resource key of a destination's credentials, e.g. `hubspot_companies_credentials`."""
    return f"{asset_name}_credentials"


def resource_config(settings: Settings) -> dict[str, dict[str, Any]]:
    """The whole configuration of each resource but the secrets, from `settings` (run config replaces a resource's
    configuration as a whole, so every field is here)."""
    return {
        "warehouse": {"path": str(settings.warehouse), "engine": settings.target,
                      "spark_dir": str(settings.spark_dir), "spark_master": settings.spark_master},
        "landing": {"raw_dir": str(settings.raw_dir), "max_quarantine_share": settings.max_quarantine_share,
                    "full_refresh": settings.full_refresh},
        "outbox": {"path": str(settings.outbox)},
        "publish": {"path": str(settings.publish_dir)},
        "quality": {"expectations_dir": str(settings.expectations_dir)},
        "as_of": {"as_of_date": str(settings.dbt_vars.get("as_of_date", ""))},
        "gates": {"volume_max_change": dict(settings.volume_max_change),
                  "freshness_hours": dict(settings.freshness_hours),
                  "accept_volume_change": sorted(settings.accept_volume_change)},
        "dbt": {"project_dir": str(settings.dbt_project_dir), "profiles_dir": str(settings.dbt_project_dir),
                "dbt_executable": paths.dbt_executable(), "target_path": str(settings.dbt_target_path),
                "target": settings.target},
    }


def run_config_resources(settings: Settings) -> dict[str, dict[str, Any]]:
    """`resource_config` in the shape of a run config's `resources` section."""
    return {key: {"config": config} for key, config in resource_config(settings).items()}


def vendor_credentials(settings: Settings) -> dict[str, VendorCredentials]:
    """Per destination: its secret as `dg.EnvVar` when the environment has it (else the outbox), its base URL."""
    return {
        credentials_key(spec.asset_name): VendorCredentials(
            credential=dg.EnvVar(spec.credential_setting) if spec.credential_setting in settings.credentials_set
            else None,
            base_url=settings.base_urls.get(spec.base_url_setting),
        )
        for spec in DESTINATIONS
    }


def build_resources(settings: Settings) -> Mapping[str, Any]:
    config = resource_config(settings)
    return {
        "warehouse": WarehouseResource(**config["warehouse"]),
        "landing": LandingResource(**config["landing"]),
        "outbox": OutboxResource(**config["outbox"]),
        "publish": PublishResource(**config["publish"]),
        "quality": QualityResource(**config["quality"]),
        "as_of": AsOfResource(**config["as_of"]),
        "gates": GatesResource(**config["gates"]),
        "dbt": DbtResource(**config["dbt"]),
        **vendor_credentials(settings),
    }


def settings_from_environment() -> Settings:
    return Settings.from_environment(
        credential_settings=[spec.credential_setting for spec in DESTINATIONS],
        base_url_settings=[spec.base_url_setting for spec in DESTINATIONS],
    )


@dg.definitions
def resources() -> dg.Definitions:
    """The code location's resources, from the environment (read here, once, when the location loads).

    The run workers the daemon starts load the location too: their Dagster instance commits without waiting for
    the disk, as `expansion run`'s does (lib/instance_storage.py)."""
    instance_storage.commit_without_waiting_for_the_disk()
    return dg.Definitions(resources=build_resources(settings_from_environment()))

"""The resources every asset uses, configured from one `Settings` object.

The code location (`dagster dev`, the daemon) builds `Settings` from the environment once, here; `expansion run`
builds its own from the command line and hands it to the same resources as run configuration
(`resource_config`). Vendor secrets are declared with `dg.EnvVar`: Dagster reads them when a sync runs.
"""


from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource

from orchestration.lib import paths
from orchestration.lib.settings import Settings
from orchestration.lib.sync.registry import DESTINATIONS


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file that the loader writes and dbt builds in."""

    path: str

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        if not read_only:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(self.path, read_only=read_only)
        try:
            con.execute("set TimeZone = 'UTC'")
            yield con
        finally:
            con.close()


class LandingResource(dg.ConfigurableResource):
    """The landing directory holding one entry per raw table (see the data contract)."""

    raw_dir: str
    max_quarantine_share: float  # a table quarantining a larger share of its rows fails its check

    @property
    def directory(self) -> Path:
        return Path(self.raw_dir)


class OutboxResource(dg.ConfigurableResource):
    """The local outbox folder: where syncs deliver when a vendor's credential is not set."""

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
    """dagster-dbt's CLI resource, plus the folder where this code location's dbt runs keep their artifacts."""

    target_path: str


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
        "warehouse": {"path": str(settings.warehouse)},
        "landing": {"raw_dir": str(settings.raw_dir), "max_quarantine_share": settings.max_quarantine_share},
        "outbox": {"path": str(settings.outbox)},
        "quality": {"expectations_dir": str(settings.expectations_dir)},
        "dbt": {"project_dir": str(paths.DBT_PROJECT_DIR), "profiles_dir": str(paths.DBT_PROJECT_DIR),
                "dbt_executable": paths.dbt_executable(), "target_path": str(settings.dbt_target_path)},
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
        "quality": QualityResource(**config["quality"]),
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
    """The code location's resources, from the environment (read here, once, when the location loads)."""
    return dg.Definitions(resources=build_resources(settings_from_environment()))

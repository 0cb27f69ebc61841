"""The dbt project as Dagster assets: every model, seed and snapshot, with dbt tests as asset checks."""


from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject, dbt_assets
from pydantic import Field

from orchestration.defs.resources import DbtResource, WarehouseResource
from orchestration.lib import paths
from orchestration.lib.dbt_manifest import ensure_manifest
from orchestration.lib.names import DBT_OP
from orchestration.lib.settings import dbt_vars_json

MANIFEST_TARGET = paths.DBT_PROJECT_DIR / "target"  # where the code location's manifest is parsed to


class ExpansionTranslator(DagsterDbtTranslator):
    """Groups and keys follow the project's folders, never individual model names."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "model" and len(fqn) > 2:
            return fqn[1]  # staging, intermediate, marts, sync
        return super().get_group_name(dbt_resource_props)

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props.get("resource_type") in ("model", "snapshot", "seed"):
            schema = dbt_resource_props.get("config", {}).get("schema") or "main"
            return dg.AssetKey([schema, dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)


class DbtBuildConfig(dg.Config):
    """dbt vars for the build, e.g. {"as_of_date": "2026-11-22"}, already checked by `lib/settings.py`."""

    vars: dict[str, Any] = Field(default_factory=dict)


def dbt_build_args(vars_: Mapping[str, Any], warehouse: str) -> list[str]:
    """The arguments of the one `dbt build` the job runs (a pure function, unit-tested).

    The as-of date is fixed here when the run did not give one, so that every model of the build sees one day;
    the warehouse path reaches dbt's profile as the var `warehouse_path`.
    """
    values = {"as_of_date": datetime.now(UTC).date().isoformat(), **vars_, "warehouse_path": warehouse}
    return ["build", "--vars", dbt_vars_json(values)]


def build_dbt_assets(manifest: Path) -> dg.AssetsDefinition:
    translator = ExpansionTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
    project = DbtProject(project_dir=paths.DBT_PROJECT_DIR, profiles_dir=paths.DBT_PROJECT_DIR,
                         target_path=manifest.parent)

    @dbt_assets(manifest=manifest, project=project, dagster_dbt_translator=translator, name=DBT_OP)
    def expansion_dbt(context: dg.AssetExecutionContext, dbt: DbtResource, warehouse: WarehouseResource,
                      config: DbtBuildConfig):
        target = Path(dbt.target_path) / DBT_OP
        invocation = dbt.cli(dbt_build_args(config.vars, warehouse.path), context=context, target_path=target)
        yield from invocation.stream()

    return expansion_dbt


@dg.definitions
def transform() -> dg.Definitions:
    """The dbt assets, from a manifest parsed afresh when a project file is newer than it."""
    return dg.Definitions(assets=[build_dbt_assets(ensure_manifest(MANIFEST_TARGET))])

"""The dbt project as Dagster assets: every model, seed and snapshot, with dbt tests as asset checks."""


import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject, dbt_assets
from dagster_dbt.errors import DagsterDbtCliRuntimeError
from pydantic import Field

from orchestration.defs.resources import AsOfResource, DbtResource, WarehouseResource, settings_from_environment
from orchestration.lib.dbt_manifest import ensure_manifest
from orchestration.lib.dbt_results import failure_sentence
from orchestration.lib.names import DBT_OP
from orchestration.lib.settings import dbt_vars_json


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
    """dbt vars for the build, e.g. {"cross_sell_top_n": 5}, already checked by `lib/settings.py`."""

    vars: dict[str, Any] = Field(default_factory=dict)
    full_refresh: bool = False  # rebuild the incremental models from scratch


def dbt_build_args(vars_: Mapping[str, Any], warehouse: str, as_of_date: str, full_refresh: bool = False) -> list[str]:
    """The arguments of the one `dbt build` the job runs (a pure function, unit-tested).

    The as-of date comes from the run's as-of resource (one day for the loader's gates and every model); the
    warehouse path reaches dbt's profile as the var `warehouse_path`.
    """
    values = {**vars_, "as_of_date": as_of_date, "warehouse_path": warehouse}
    return ["build", "--vars", dbt_vars_json(values), *(["--full-refresh"] if full_refresh else [])]


def stop(process: subprocess.Popen) -> None:
    """End the dbt process if the step stops before it did: a dbt left running holds the warehouse file."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def build_dbt_assets(manifest: Path) -> dg.AssetsDefinition:
    translator = ExpansionTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
    project_dir = manifest.parent.parent
    project = DbtProject(project_dir=project_dir, profiles_dir=project_dir, target_path=manifest.parent)

    @dbt_assets(manifest=manifest, project=project, dagster_dbt_translator=translator, name=DBT_OP)
    def expansion_dbt(context: dg.AssetExecutionContext, dbt: DbtResource, warehouse: WarehouseResource,
                      as_of: AsOfResource, config: DbtBuildConfig):
        target = Path(dbt.target_path) / DBT_OP
        args = dbt_build_args(config.vars, warehouse.path, as_of.day.isoformat(), config.full_refresh)
        invocation = dbt.cli(args, context=context, target_path=target)
        try:
            yield from invocation.stream()
        except DagsterDbtCliRuntimeError:
            sentence = failure_sentence(target / "run_results.json", target / "dbt.log")
            raise dg.Failure(description=sentence, allow_retries=False) from None
        finally:
            stop(invocation.process)

    return expansion_dbt


def project_manifest() -> Path:
    """The manifest of the dbt project the settings name, parsed afresh when a project file is newer than it."""
    return ensure_manifest(settings_from_environment().dbt_project_dir)


@dg.definitions
def transform() -> dg.Definitions:
    return dg.Definitions(assets=[build_dbt_assets(project_manifest())])

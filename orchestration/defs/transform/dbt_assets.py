"""The dbt project as Dagster assets: every model, seed and snapshot, with dbt tests as asset checks."""


import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets
from pydantic import Field

from orchestration.lib import paths


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
    """dbt vars for the build, e.g. {"as_of_date": "2026-11-22"}."""

    vars: dict[str, str] = Field(default_factory=dict)


def dbt_project() -> DbtProject:
    return DbtProject(project_dir=paths.DBT_PROJECT_DIR, profiles_dir=paths.DBT_PROJECT_DIR,
                      target_path=paths.dbt_target_path())


def dbt_build_args(vars_: Mapping[str, str]) -> list[str]:
    """The arguments of the one `dbt build` the job runs (a pure function, unit-tested)."""
    args = ["build"]
    if vars_:
        args += ["--vars", json.dumps(dict(sorted(vars_.items())))]
    return args


def build_dbt_assets(manifest: Path, project: DbtProject) -> dg.AssetsDefinition:
    translator = ExpansionTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    @dbt_assets(manifest=manifest, project=project, dagster_dbt_translator=translator, name="dbt_build")
    def expansion_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig):
        yield from dbt.cli(dbt_build_args(config.vars), context=context).stream()

    return expansion_dbt


def dbt_resource(project: DbtProject) -> DbtCliResource:
    return DbtCliResource(project_dir=project, profiles_dir=str(paths.DBT_PROJECT_DIR),
                          dbt_executable=paths.dbt_executable())

"""The dbt project as Dagster assets: every model, seed and snapshot, with dbt tests as asset checks."""


import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject, dbt_assets
from dagster_dbt.errors import DagsterDbtCliRuntimeError
from pydantic import Field

from orchestration.defs.resources import AsOfResource, DbtResource, WarehouseResource, settings_from_environment
from orchestration.lib import validation
from orchestration.lib.dbt_manifest import ensure_manifest
from orchestration.lib.dbt_results import failure_sentence
from orchestration.lib.mart_metadata import mart_metadata
from orchestration.lib.names import DBT_OP, MARTS_SCHEMA
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
    # dbt's unit tests check the models' SQL on rows of their own, not the data: `make test` runs them (pytest's
    # dbt builds); a refresh runs every data test and skips them (about 12 s of every run, whatever its size).
    return ["build", "--vars", dbt_vars_json(values), "--exclude-resource-type", "unit_test",
            *(["--full-refresh"] if full_refresh else [])]


def asset_key_of(context: dg.AssetExecutionContext, event: Any) -> dg.AssetKey:
    if isinstance(event, dg.Output):
        return context.asset_key_for_output(event.output_name)
    return getattr(event, "asset_key", None) or dg.AssetKey(["-"])


def marts_and_their_descendants(assets_def: dg.AssetsDefinition) -> set[dg.AssetKey]:
    """The marts of the dbt assets and every asset downstream of one: their outputs wait for the marts' metadata,
    and a multi-asset yields its outputs in dependency order."""
    children: dict[dg.AssetKey, set[dg.AssetKey]] = {}
    for key, deps in assets_def.asset_deps.items():
        for dep in deps:
            children.setdefault(dep, set()).add(key)
    held = {key for key in assets_def.keys if key.path[0] == MARTS_SCHEMA}
    frontier = list(held)
    while frontier:
        for child in children.get(frontier.pop(), ()):
            if child not in held:
                held.add(child)
                frontier.append(child)
    return held


def with_mart_metadata(context: dg.AssetExecutionContext, events: list, warehouse: WarehouseResource) -> Iterator:
    """The held events in their order, each mart's materialization with its row count, a Markdown preview and its
    figures (NRR, GRR, the lift: numbers the UI plots across runs), read once dbt has ended."""
    if not events:
        return
    with warehouse.connect(read_only=True) as con:
        for event in events:
            key = asset_key_of(context, event)
            if isinstance(event, dg.Output) and key.path[0] == MARTS_SCHEMA:
                name = key.path[-1]
                extra = mart_metadata(con, name)
                metadata = {"dagster/row_count": dg.MetadataValue.int(extra.pop("rows")),
                            "preview": dg.MetadataValue.md(extra.pop("preview")),
                            **{key: dg.MetadataValue.float(value) for key, value in extra.items()}}
                event = event.with_metadata({**event.metadata, **metadata})
            yield event


def stop(process: subprocess.Popen) -> None:
    """End the dbt process if the step stops before it did: a dbt left running holds the warehouse file."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


KEEP_DBT_INVOCATIONS = 5  # dbt's artefact folders kept under the target path, newest first


def invocation_folder(target_path: Path, run_id: str) -> Path:
    """This run's folder for dbt's artefacts (run_results.json, dbt.log, compiled SQL) under the target path."""
    return target_path / f"{DBT_OP}-{run_id[:8]}"


def prune_invocations(target_path: Path, keep: int = KEEP_DBT_INVOCATIONS) -> None:
    """Remove all but the `keep` newest run folders, so nothing accumulates under the target path."""
    folders = sorted((path for path in target_path.glob(f"{DBT_OP}-*") if path.is_dir()),
                     key=lambda path: path.stat().st_mtime, reverse=True)
    for old in folders[keep:]:
        shutil.rmtree(old, ignore_errors=True)


PARTIAL_PARSE = "partial_parse.msgpack"


def seed_partial_parse(target_path: Path, invocation: Path) -> None:
    """Start this run's dbt from the parse the last run left under the target path, when there is one.

    dbt then parses only what changed (the files an analytics engineer edited) instead of the whole project
    (2.8 s of a tiny run's 8 s dbt step); it checks the saved parse itself and parses everything again when the
    project, the vars or the profile (the warehouse file) differ.
    """
    saved = target_path / PARTIAL_PARSE
    if saved.is_file():
        invocation.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(saved, invocation / PARTIAL_PARSE)


def keep_partial_parse(target_path: Path, invocation: Path) -> None:
    """Keep the parse this run's dbt wrote for the next run, put in place in one step (runs may overlap)."""
    written = invocation / PARTIAL_PARSE
    if written.is_file():
        scratch = target_path / f".{PARTIAL_PARSE}.{invocation.name}"
        shutil.copyfile(written, scratch)
        os.replace(scratch, target_path / PARTIAL_PARSE)


def build_dbt_assets(manifest: Path) -> dg.AssetsDefinition:
    translator = ExpansionTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
    project_dir = manifest.parent.parent
    project = DbtProject(project_dir=project_dir, profiles_dir=project_dir, target_path=manifest.parent)

    @dbt_assets(manifest=manifest, project=project, dagster_dbt_translator=translator, name=DBT_OP)
    def expansion_dbt(context: dg.AssetExecutionContext, dbt: DbtResource, warehouse: WarehouseResource,
                      as_of: AsOfResource, config: DbtBuildConfig):
        target = invocation_folder(Path(dbt.target_path), context.run_id)
        prune_invocations(Path(dbt.target_path), keep=KEEP_DBT_INVOCATIONS - 1)
        args = dbt_build_args(config.vars, warehouse.path, as_of.day.isoformat(), config.full_refresh)
        seed_partial_parse(Path(dbt.target_path), target)
        invocation = dbt.cli(args, context=context, target_path=target)
        validation.import_in_background()  # for the suites after the build, while this step waits on dbt
        held_keys = marts_and_their_descendants(context.assets_def)
        held: list = []  # the marts' events (and what comes after them), until dbt has let go of the warehouse
        try:
            for event in invocation.stream():
                if held or asset_key_of(context, event) in held_keys:
                    held.append(event)
                else:
                    yield event
        except DagsterDbtCliRuntimeError:
            # dbt has ended: what it did before the failure (the marts it built, the failed check on a mart) is
            # reported before the step fails, so the failed check is the one the summary and the UI name
            stop(invocation.process)
            yield from with_mart_metadata(context, held, warehouse)
            sentence = failure_sentence(target / "run_results.json", target / "dbt.log")
            raise dg.Failure(description=sentence, allow_retries=False) from None
        else:
            yield from with_mart_metadata(context, held, warehouse)
        finally:
            stop(invocation.process)
            keep_partial_parse(Path(dbt.target_path), target)

    return expansion_dbt


def project_manifest() -> Path:
    """The manifest of the dbt project the settings name, parsed afresh when a project file is newer than it."""
    return ensure_manifest(settings_from_environment().dbt_project_dir)


@dg.definitions
def transform() -> dg.Definitions:
    return dg.Definitions(assets=[build_dbt_assets(project_manifest())])

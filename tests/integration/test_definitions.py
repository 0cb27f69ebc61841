"""The Dagster definitions: the asset graph, the dbt wiring, the resources and the jobs."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from orchestration.definitions import defs as load_definitions
from orchestration.defs.quality.volumes import VOLUMES_KEY
from orchestration.defs.resources import resource_config
from orchestration.defs.transform.dbt_assets import dbt_build_args
from orchestration.lib.contract import TABLES
from orchestration.lib.names import BUILD_JOB, DAILY_SCHEDULE, DESTINATIONS_GROUP, GX_CHECK, LOAD_JOB, REFRESH_JOB
from orchestration.lib.settings import Settings
from orchestration.lib.sync.registry import DESTINATIONS
from orchestration.run.pipeline import run_config


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    return load_definitions()


def test_dbt_build_args_pass_vars_as_sorted_json_with_the_warehouse() -> None:
    args = dbt_build_args({"cross_sell_top_n": 5}, "/w/x.duckdb", "2026-11-22")
    assert args[:2] == ["build", "--vars"] and args[3:] == ["--exclude-resource-type", "unit_test"]
    assert dbt_build_args({}, "/w", "2026-11-22", full_refresh=True)[-1] == "--full-refresh"
    assert json.loads(args[2]) == {"as_of_date": "2026-11-22", "cross_sell_top_n": 5, "warehouse_path": "/w/x.duckdb"}
    assert list(json.loads(args[2])) == sorted(json.loads(args[2]))


def test_graph_connects_raw_assets_to_staging_and_marts(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {f"raw/{table.name}" for table in TABLES} <= keys
    for mart in ("copurchase_pairs", "cross_sell_recommendations", "upgrade_trigger_accounts", "mrr_monthly",
                 "nrr_monthly"):
        assert f"marts/{mart}" in keys
    # Each staging model reads its raw asset (the source's meta.dagster.asset_key), not a stub.
    for table in TABLES:
        staging = dg.AssetKey(["staging", f"stg_raw__{table.name}"])
        assert dg.AssetKey(["raw", table.name]) in graph.get(staging).parent_keys
    # Raw tables load in contract order: order_items after orders and products.
    assert graph.get(dg.AssetKey(["raw", "order_items"])).parent_keys == {
        dg.AssetKey(["raw", "orders"]), dg.AssetKey(["raw", "products"])}
    # dbt tests are asset checks; the ingest checks are blocking.
    checks = {key.name for key in graph.asset_check_keys}
    assert "counts_reconcile" in checks and "quarantine_share" in checks
    assert any(name.startswith("unique_") for name in checks)


def test_jobs_and_schedule_are_defined(definitions: dg.Definitions) -> None:
    for name in (REFRESH_JOB, BUILD_JOB, LOAD_JOB):
        assert definitions.resolve_job_def(name).executor_def.name == "in_process"
    assert definitions.resolve_schedule_def(DAILY_SCHEDULE).cron_schedule == "0 5 * * *"


def test_the_destinations_group_does_not_collide_with_a_dbt_folder(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    groups = {key: graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert {key.path[0] for key, group in groups.items() if group == DESTINATIONS_GROUP} == {DESTINATIONS_GROUP}
    # the build job (--no-sync) keeps the sync models and their gates, only the deliveries are left out
    build = definitions.resolve_job_def(BUILD_JOB).asset_layer.selected_asset_keys
    for spec in DESTINATIONS:
        assert dg.AssetKey(["sync", spec.model]) in build
        assert dg.AssetKey([DESTINATIONS_GROUP, spec.asset_name]) not in build


def test_syncs_sit_behind_blocking_checks_and_only_the_refresh_job_runs_them(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    assert {spec.asset_name for spec in DESTINATIONS} == {"hubspot_companies", "klaviyo_cross_sell_events"}
    for spec in DESTINATIONS:
        sync_asset, sync_model = dg.AssetKey([DESTINATIONS_GROUP, spec.asset_name]), dg.AssetKey(["sync", spec.model])
        # behind its sync model and the volume gate on everything dbt built
        assert graph.get(sync_asset).parent_keys == {sync_model, VOLUMES_KEY}
        assert graph.get_check_spec(dg.AssetCheckKey(VOLUMES_KEY, "volume_drift")).blocking
        assert graph.get_check_spec(dg.AssetCheckKey(sync_model, "volume_drift")).blocking
        # the volume gate on the marts does not wait for any sync model, so one sync's gate never stops another
        assert not {key for key in graph.get(VOLUMES_KEY).parent_keys if key.path[0] == "sync"}
        gate = dg.AssetCheckKey(sync_model, GX_CHECK)
        assert gate in graph.asset_check_keys
        assert graph.get_check_spec(gate).blocking
        # the sync model's dbt tests are checks on it too (a failing one fails the dbt step upstream)
        assert any(key.asset_key == sync_model and key.name.startswith("unique_") for key in graph.asset_check_keys)
    refresh = definitions.resolve_job_def(REFRESH_JOB).asset_layer.selected_asset_keys
    load = definitions.resolve_job_def(LOAD_JOB).asset_layer.selected_asset_keys
    assert dg.AssetKey([DESTINATIONS_GROUP, "hubspot_companies"]) in refresh
    assert load == {dg.AssetKey(["raw", table.name]) for table in TABLES}


def test_the_settings_reach_every_resource_as_run_configuration(definitions: dg.Definitions, tmp_path: Path) -> None:
    settings = Settings(raw_dir=tmp_path / "raw", warehouse=tmp_path / "w.duckdb", outbox=tmp_path / "out",
                        expectations_dir=tmp_path / "gx", dbt_target_path=tmp_path / "t", max_quarantine_share=0.2,
                        dbt_vars={"as_of_date": "2026-11-22"})
    job = definitions.resolve_job_def(REFRESH_JOB)
    config = run_config(job, settings)
    assert config["resources"]["warehouse"] == {"config": {"path": str(tmp_path / "w.duckdb"), "engine": "duckdb",
                                                           "spark_dir": str(tmp_path / "w.spark"),
                                                           "spark_master": "local[2]"}}
    assert config["resources"]["dbt"]["config"]["target"] == "duckdb"
    assert config["resources"]["landing"]["config"]["max_quarantine_share"] == 0.2
    assert config["ops"]["dbt_build"]["config"] == {"vars": {}, "full_refresh": False}
    assert config["resources"]["as_of"] == {"config": {"as_of_date": "2026-11-22"}}
    # every configurable resource of the definitions gets its value from the settings, none from elsewhere
    assert set(resource_config(settings)) == {key for key in definitions.resources
                                              if not key.endswith("_credentials")} - {"io_manager"}
    assert "ops" not in run_config(definitions.resolve_job_def(LOAD_JOB), settings)


def test_every_singular_dbt_test_is_a_blocking_check_on_the_model_it_guards(definitions: dg.Definitions) -> None:
    import re

    from orchestration.lib import paths

    graph = definitions.resolve_asset_graph()
    singular = sorted((paths.DBT_PROJECT_DIR / "tests").glob("*/assert_*.sql"))
    assert len(singular) >= 12
    for test in singular:
        guarded = re.search(r"'ref': \{'name': '(\w+)'\}", test.read_text()).group(1)
        keys = [key for key in graph.asset_check_keys if key.name == test.stem]
        assert [key.asset_key.path[-1] for key in keys] == [guarded], test.name
        assert graph.get_check_spec(keys[0]).blocking, test.name


def test_freshness_is_shown_in_dagsters_terms_and_kept_out_of_the_jobs(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    wall_clock = {key for key in graph.asset_check_keys if key.name == "freshness_check"}
    assert {key.asset_key.to_user_string() for key in wall_clock} >= {
        "raw/orders", "raw/usage_events", "raw/subscription_items", "marts/mrr_monthly", "marts/nrr_monthly"}
    assert definitions.resolve_sensor_def("freshness_checks_sensor") is not None
    for name in (REFRESH_JOB, BUILD_JOB, LOAD_JOB):
        nodes = [node.name for node in definitions.resolve_job_def(name).graph.nodes]
        assert not [node for node in nodes if "freshness" in node], name
    assert "sync__sync_hubspot__companies_great_expectations" in [
        node.name for node in definitions.resolve_job_def(REFRESH_JOB).graph.nodes]
    # the blocking gate of a run judges the as-of instant
    for table in ("orders", "usage_events", "subscription_items"):
        assert graph.get_check_spec(dg.AssetCheckKey(dg.AssetKey(["raw", table]), "fresh_at_as_of")).blocking


def test_dagster_dev_loads_the_code_location_named_expansion(tmp_path: Path) -> None:
    """`make dev` runs `dagster dev` in the project root, which loads the location pyproject.toml names."""
    import subprocess
    import sys

    from orchestration.lib import paths

    completed = subprocess.run([str(Path(sys.executable).parent / "dagster"), "definitions", "validate"],
                               cwd=paths.PROJECT_ROOT, capture_output=True, text=True, timeout=300,
                               env={"PATH": str(Path(sys.executable).parent), "DAGSTER_HOME": str(tmp_path),
                                    "HOME": str(tmp_path)})
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "Validation successful for code location expansion." in output


def test_the_automation_refreshes_on_its_own(definitions: dg.Definitions) -> None:
    from orchestration.lib.names import LANDING_SENSOR, WAREHOUSE_TAG

    sensor = definitions.resolve_sensor_def(LANDING_SENSOR)
    assert sensor.job_name == REFRESH_JOB and sensor.default_status == dg.DefaultSensorStatus.RUNNING
    schedule = definitions.resolve_schedule_def(DAILY_SCHEDULE)
    assert schedule.job_name == REFRESH_JOB and schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    for name in (REFRESH_JOB, BUILD_JOB, LOAD_JOB):
        job = definitions.resolve_job_def(name)
        assert WAREHOUSE_TAG in job.tags
        assert job.op_retry_policy is not None and job.op_retry_policy.max_retries == 2

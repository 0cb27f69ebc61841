"""The Dagster definitions: the asset graph, the dbt wiring and the jobs."""

from __future__ import annotations

import json

import dagster as dg

from orchestration.defs.build import build_definitions
from orchestration.defs.transform.dbt_assets import dbt_build_args
from orchestration.lib.contract import TABLES


def test_dbt_build_args_pass_vars_as_sorted_json() -> None:
    assert dbt_build_args({}) == ["build"]
    args = dbt_build_args({"min_pair_orders": "5", "as_of_date": "2026-11-22"})
    assert args[:2] == ["build", "--vars"]
    assert json.loads(args[2]) == {"as_of_date": "2026-11-22", "min_pair_orders": "5"}
    assert args[2].index("as_of_date") < args[2].index("min_pair_orders")


def test_graph_connects_raw_assets_to_staging_and_marts() -> None:
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
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


def test_jobs_and_schedule_are_defined() -> None:
    defs = build_definitions()
    assert defs.resolve_job_def("expansion_refresh") is not None
    assert defs.resolve_job_def("expansion_build") is not None
    schedule = defs.resolve_schedule_def("daily_refresh")
    assert schedule.cron_schedule == "0 5 * * *"


def test_syncs_sit_behind_blocking_checks_and_only_the_refresh_job_runs_them() -> None:
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    for destination, model in (("hubspot_companies", "sync_hubspot__companies"),
                               ("klaviyo_cross_sell_events", "sync_klaviyo__cross_sell_events")):
        sync_asset, sync_model = dg.AssetKey(["destinations", destination]), dg.AssetKey(["sync", model])
        assert graph.get(sync_asset).parent_keys == {sync_model}
        gate = dg.AssetCheckKey(sync_model, "great_expectations")
        assert gate in graph.asset_check_keys
        assert graph.get_check_spec(gate).blocking
        # the sync model's dbt tests are checks on it too (a failing one fails the dbt step upstream)
        assert any(key.asset_key == sync_model and key.name.startswith("unique_") for key in graph.asset_check_keys)
    refresh = defs.resolve_job_def("expansion_refresh")
    build = defs.resolve_job_def("expansion_build")
    assert dg.AssetKey(["destinations", "hubspot_companies"]) in refresh.asset_layer.selected_asset_keys
    assert dg.AssetKey(["destinations", "hubspot_companies"]) not in build.asset_layer.selected_asset_keys
    assert refresh.executor_def.name == build.executor_def.name == "in_process"

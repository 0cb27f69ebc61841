"""Operating it: BI tools read the published marts while refreshes run, the landing sensor starts refreshes, two
refreshes of one warehouse never write it at once, and every run is in the Dagster instance the UI reads."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from orchestration.lib import paths
from orchestration.lib.names import LANDING_SENSOR, REFRESH_JOB, WAREHOUSE_TAG
from orchestration.run import cli
from tests.conftest import AS_OF, read_warehouse

SMALL_DATA_VARS = ["--var", "cross_sell_min_pair_orders=3"]


def refresh(landing: Path, warehouse: Path, capsys: pytest.CaptureFixture[str], *options: str) -> str:
    code = cli.main(["run", "--raw", str(landing), "--warehouse", str(warehouse), "--no-sync",
                     "--var", f"as_of_date={AS_OF}", *SMALL_DATA_VARS, *options])
    output = capsys.readouterr().out
    assert code == 0, output
    return output


def dbt_folders(target: Path) -> set[str]:
    return {path.name for path in target.glob("dbt_build*") if path.is_dir()}


@pytest.mark.slow
def test_bi_readers_are_never_refused_nor_shown_a_mix_while_refreshes_run(
        small_landing: Path, isolated_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    warehouse, published = isolated_env / "w.duckdb", isolated_env / "published"
    checkout_dbt_folders = dbt_folders(paths.DEFAULT_DBT_TARGET_PATH)
    refresh(small_landing, warehouse, capsys)
    stop, result = isolated_env / "stop-reading", isolated_env / "reader.json"
    reader = subprocess.Popen([sys.executable, "-m", "tests.support.mart_reader", str(published), str(stop),
                               str(result)], cwd=paths.PROJECT_ROOT)
    try:
        time.sleep(1)
        outputs = [refresh(small_landing, warehouse, capsys),
                   refresh(small_landing, warehouse, capsys, "--full-refresh")]
    finally:
        stop.touch()
        reader.wait(timeout=60)
    seen = json.loads(result.read_text())
    assert seen["problems"] == []
    assert seen["passes"] >= 20
    assert len(seen["runs"]) >= 2, "the reader saw the publications change under it"
    assert all(as_of == AS_OF for _, as_of in seen["runs"])
    assert "Published for BI tools: " in outputs[-1]

    # every run is in the instance the UI reads (DAGSTER_HOME), with its materialisations and checks
    instance = dg.DagsterInstance.from_config(os.environ["DAGSTER_HOME"])
    runs = instance.get_runs()
    assert len(runs) == 3 and {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
    assert {run.tags[WAREHOUSE_TAG] for run in runs} == {str(warehouse)}
    latest = read_warehouse(published / "marts.duckdb", "select _run_id from _publication")[0][0]
    assert latest == runs[0].run_id
    assert instance.get_latest_materialization_event(dg.AssetKey(["published", "marts"])).run_id == latest
    assert instance.get_latest_materialization_event(dg.AssetKey(["marts", "nrr_monthly"])).run_id == latest
    checks = instance.get_records_for_run(latest, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION,
                                          limit=10_000).records
    passed = int(outputs[-1].split(" checks passed")[0].rsplit(" ", 1)[1])
    assert len(checks) == passed > 100
    assert all(record.event_log_entry.dagster_event.event_specific_data.passed for record in checks)

    # dbt's artefacts: one folder per run under the configured target path, none in the checkout
    assert dbt_folders(isolated_env / "dbt-target") == {f"dbt_build-{run.run_id[:8]}" for run in runs}
    assert dbt_folders(paths.DEFAULT_DBT_TARGET_PATH) <= checkout_dbt_folders


@pytest.mark.slow
def test_two_refreshes_at_once_one_runs_and_the_other_stops_in_one_sentence(
        small_landing: Path, isolated_env: Path) -> None:
    warehouse = isolated_env / "w.duckdb"
    command = [sys.executable, "-m", "orchestration.run.cli", "run", "--raw", str(small_landing), "--warehouse",
               str(warehouse), "--no-sync", "--var", f"as_of_date={AS_OF}", *SMALL_DATA_VARS]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=paths.PROJECT_ROOT)
    lock = isolated_env / "w.duckdb.lock"
    deadline = time.monotonic() + 60
    while not (lock.exists() and lock.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    second = subprocess.run(command, capture_output=True, text=True, cwd=paths.PROJECT_ROOT, timeout=120)
    first_out, _ = first.communicate(timeout=600)
    assert first.returncode == 0, first_out
    assert second.returncode == 1
    sentence = second.stdout.strip()
    holder = json.loads(lock.read_text() or "{}")  # emptied when the first let go
    assert holder == {}
    assert sentence.startswith(f"expansion run FAILED before starting: The warehouse {warehouse} is being "
                               "refreshed by run ")
    assert "one refresh writes a warehouse at a time" in sentence and "\n" not in sentence
    assert "Traceback" not in second.stderr
    counts = read_warehouse(warehouse, "select bool_and(rows_read = rows_loaded + rows_superseded + "
                                       "rows_quarantined), count(*) from audit.load_counts")[0]
    assert counts == (True, 9)  # the stopped run changed nothing

    # the run the lock named is the first one, as the Dagster instance knows it
    instance = dg.DagsterInstance.from_config(os.environ["DAGSTER_HOME"])
    (run,) = instance.get_runs()
    assert f"run {run.run_id} (PID {first.pid}" in sentence


@pytest.mark.slow
def test_the_landing_sensor_starts_a_refresh_when_new_files_have_settled(
        small_landing: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    landing, warehouse = isolated_env / "landing", isolated_env / "w.duckdb"
    shutil.copytree(small_landing, landing)
    for name, value in {"EXPANSION_RAW_DIR": landing, "EXPANSION_WAREHOUSE": warehouse,
                        "EXPANSION_OUTBOX": isolated_env / "outbox"}.items():
        monkeypatch.setenv(name, str(value))
    from orchestration.definitions import defs

    definitions = defs()  # the code location as the daemon loads it, configured from this environment
    sensor = definitions.resolve_sensor_def(LANDING_SENSOR)
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir()
    shutil.copy(paths.DEFAULT_DAGSTER_HOME / "dagster.yaml", home)  # the project's instance: queue, run retries
    instance = dg.DagsterInstance.from_config(str(home))
    assert instance.run_coordinator.get_run_queue_config().tag_concurrency_limits == [
        {"key": WAREHOUSE_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1}]
    assert instance.run_retries_enabled and instance.run_retries_max_retries == 2

    def evaluate(cursor: str | None):
        context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=definitions)
        return sensor.evaluate_tick(context)

    first = evaluate(None)  # files seen for the first time: wait one evaluation for them to settle
    assert not first.run_requests and "settle" in first.skip_message
    second = evaluate(first.cursor)
    (request,) = second.run_requests
    again = evaluate(second.cursor)
    assert not again.run_requests and "No new or changed landing files" in again.skip_message

    job = definitions.resolve_job_def(REFRESH_JOB)
    assert sensor.job_name == REFRESH_JOB
    run_config = {"resources": {"as_of": {"config": {"as_of_date": AS_OF}}},
                  "ops": {"dbt_build": {"config": {"vars": {"cross_sell_min_pair_orders": 3}}}}}
    result = job.execute_in_process(instance=instance, run_config=run_config, raise_on_error=False,
                                    tags={**request.tags, "dagster/run_key": request.run_key,
                                          "dagster/sensor_name": LANDING_SENSOR})
    assert result.success
    assert result.dagster_run.tags[WAREHOUSE_TAG] == str(warehouse)
    assert read_warehouse(warehouse.parent / "published" / "marts.duckdb",
                          "select _run_id from _publication")[0][0] == result.run_id

    # a new part file of orders arrives (a copy of one, so the loader has something to say about it)
    part = sorted((landing / "orders").glob("*.parquet"))[0]
    shutil.copy(part, part.with_name("orders-late.parquet"))
    changed = evaluate(again.cursor)
    assert not changed.run_requests
    settled = evaluate(changed.cursor)
    (late,) = settled.run_requests
    assert late.run_key != request.run_key

"""Shared fixtures: small generated landing data, a loaded warehouse, and dbt runs against copies of it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.lib import paths, settings
from orchestration.lib.names import LOAD_JOB
from orchestration.lib.settings import Settings

pytest_plugins = ["tests.support.fixtures"]  # Prism mocks of the vendor specs and the fault-injecting server

AS_OF = "2026-11-22"
TEST_SCALE = 0.05  # about 5k order lines, 500 customers, 50k usage events


def run_dbt(args: list[str], warehouse: Path, target: Path, vars_: dict[str, str] | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run dbt against `warehouse` with its own target folder (tests may run beside other dbt processes)."""
    command = [paths.dbt_executable(), *args, "--profiles-dir", str(paths.DBT_PROJECT_DIR),
               "--project-dir", str(paths.DBT_PROJECT_DIR), "--target-path", str(target),
               "--log-path", str(target / "logs")]
    command += ["--vars", json.dumps({"as_of_date": AS_OF, **(vars_ or {})})]
    env = {**os.environ, settings.WAREHOUSE_ENV: str(warehouse)}
    completed = subprocess.run(command, cwd=paths.DBT_PROJECT_DIR, env=env, capture_output=True, text=True)
    if check and completed.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{completed.stdout[-6000:]}{completed.stderr[-2000:]}")
    return completed


@pytest.fixture(scope="session")
def small_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from orchestration.lib.generator import generate

    landing = tmp_path_factory.mktemp("landing") / "raw"
    generate(landing, scale=TEST_SCALE, seed=7, end_date=date.fromisoformat(AS_OF))
    return landing


def load_landing(landing: Path, warehouse: Path, target: Path, max_quarantine_share: float = 0.05,
                 gates: bool = True) -> None:
    """Load `landing` into `warehouse` the way `expansion run` does: the Dagster load job, in-process.

    `gates=False` judges neither volume nor freshness, for hand-made data that has no history or no recent days.
    """
    from orchestration.run.pipeline import run_pipeline

    settings = Settings(raw_dir=landing, warehouse=warehouse, dbt_target_path=target,
                        max_quarantine_share=max_quarantine_share, sync=False, dbt_vars={"as_of_date": AS_OF})
    if not gates:
        settings = settings.with_overrides(volume_max_change=dict.fromkeys(settings.volume_max_change),
                                           freshness_hours=dict.fromkeys(settings.freshness_hours))
    outcome = run_pipeline(settings, job_name=LOAD_JOB)
    if not outcome.success:
        raise AssertionError(outcome.summary)


@pytest.fixture(scope="session")
def loaded_warehouse(small_landing: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse file with `raw` loaded from `small_landing`; copy it before writing to it."""
    folder = tmp_path_factory.mktemp("warehouse")
    warehouse = folder / "loaded.duckdb"
    load_landing(small_landing, warehouse, folder / "target")
    return warehouse


@pytest.fixture(scope="session")
def built_warehouse(loaded_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`loaded_warehouse` after a full `dbt build` with as_of_date = AS_OF (read it, do not write)."""
    folder = tmp_path_factory.mktemp("built")
    warehouse = folder / "built.duckdb"
    shutil.copy(loaded_warehouse, warehouse)
    run_dbt(["build"], warehouse, folder / "target")
    return warehouse


def read_warehouse(warehouse: Path, sql: str) -> list[tuple]:
    """The rows of one query against a warehouse file, opened read-only and closed again."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture
def query(built_warehouse: Path) -> Callable[[str], list[tuple]]:
    def run(sql: str) -> list[tuple]:
        return read_warehouse(built_warehouse, sql)

    return run


VENDOR_ENV = ("HUBSPOT_ACCESS_TOKEN", "HUBSPOT_BASE_URL", "KLAVIYO_API_KEY", "KLAVIYO_BASE_URL")


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep an `expansion run`'s settings, dbt target and Dagster instance inside tmp_path, with no vendor
    credentials (syncs go to the outbox unless a test sets them), all restored afterwards."""
    for name in (*settings.ENVIRONMENT, *VENDOR_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(settings.DBT_TARGET_PATH_ENV, str(tmp_path / "dbt-target"))
    monkeypatch.setenv(settings.DAGSTER_HOME_ENV, str(tmp_path / "dagster_home"))
    return tmp_path

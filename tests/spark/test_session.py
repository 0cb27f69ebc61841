"""The Spark session the loader starts and the one dbt-spark starts are configured alike."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import jinja2
import yaml

from orchestration.lib import paths
from orchestration.lib.settings import Settings
from orchestration.lib.spark.session import spark_conf


def rendered_spark_output(env: dict[str, str], dbt_vars: dict[str, str]) -> dict[str, str]:
    profile = yaml.safe_load((paths.DBT_PROJECT_DIR / "profiles.yml").read_text())
    parameters = profile["expansion"]["outputs"]["spark"]["server_side_parameters"]
    context = {"env_var": lambda name, default=None: env.get(name, default),
               "var": lambda name, default=None: dbt_vars.get(name, default),
               "modules": SimpleNamespace(re=re)}
    environment = jinja2.Environment()
    return {name: environment.from_string(str(value)).render(**context) for name, value in parameters.items()}


def test_profile_repeats_the_session_configuration(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh" / "expansion.duckdb"
    settings = Settings(warehouse=warehouse)
    rendered = rendered_spark_output({}, {"warehouse_path": str(warehouse)})
    assert rendered == spark_conf(settings.spark_dir)
    assert rendered["spark.sql.warehouse.dir"] == str(tmp_path / "wh" / "expansion.spark" / "tables")


def test_profile_and_settings_agree_on_an_explicit_spark_warehouse(tmp_path: Path) -> None:
    spark_dir = tmp_path / "lake"
    env = {"EXPANSION_SPARK_WAREHOUSE": str(spark_dir), "EXPANSION_SPARK_MASTER": "local[1]"}
    settings = Settings.from_environment(env)
    rendered = rendered_spark_output(env, {"warehouse_path": str(tmp_path / "x.duckdb")})
    assert settings.spark_dir == spark_dir
    assert rendered == spark_conf(spark_dir, "local[1]")

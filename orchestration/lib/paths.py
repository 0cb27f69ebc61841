"""Where things live, relative to the repository: the defaults that `settings.py` starts from."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

DEFAULT_RAW_DIR = PROJECT_ROOT / "data" / "raw"
DEFAULT_WAREHOUSE = PROJECT_ROOT / "warehouse" / "expansion.duckdb"
DEFAULT_OUTBOX = PROJECT_ROOT / "outbox"
DEFAULT_EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
DEFAULT_DBT_TARGET_PATH = DBT_PROJECT_DIR / "target"
DEFAULT_DAGSTER_HOME = PROJECT_ROOT / "dagster_home"  # the instance `expansion run` and `make dev` share


def dbt_executable() -> str:
    """The dbt next to this interpreter (the project's .venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    if beside.exists():
        return str(beside)
    found = shutil.which("dbt")
    if found is None:
        raise RuntimeError("dbt is not installed next to this Python nor on PATH; run `make setup`.")
    return found

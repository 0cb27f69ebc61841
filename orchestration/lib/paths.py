"""Where things live, relative to the repository, and the settings that move them."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

# Environment variables (the CLI's options set them; Dagster reads them through EnvVar).
RAW_DIR_ENV = "EXPANSION_RAW_DIR"
WAREHOUSE_ENV = "EXPANSION_WAREHOUSE"
OUTBOX_ENV = "EXPANSION_OUTBOX"
DBT_TARGET_PATH_ENV = "EXPANSION_DBT_TARGET_PATH"
MAX_QUARANTINE_SHARE_ENV = "EXPANSION_MAX_QUARANTINE_SHARE"
EXPECTATIONS_DIR_ENV = "EXPANSION_EXPECTATIONS_DIR"

DEFAULT_RAW_DIR = PROJECT_ROOT / "data" / "raw"
DEFAULT_WAREHOUSE = PROJECT_ROOT / "warehouse" / "expansion.duckdb"
DEFAULT_OUTBOX = PROJECT_ROOT / "outbox"
DEFAULT_EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"


def setting(name: str, default: Path) -> Path:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser().resolve() if value else default


def expectations_dir() -> Path:
    """The Great Expectations suites the sync gates use (another folder only to try out stricter suites)."""
    return setting(EXPECTATIONS_DIR_ENV, DEFAULT_EXPECTATIONS_DIR)


def dbt_target_path() -> Path:
    return setting(DBT_TARGET_PATH_ENV, DBT_PROJECT_DIR / "target")


def dbt_executable() -> str:
    """The dbt next to this interpreter (the project's .venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    if beside.exists():
        return str(beside)
    found = shutil.which("dbt")
    if found is None:
        raise RuntimeError("dbt is not installed next to this Python nor on PATH; run `make setup`.")
    return found

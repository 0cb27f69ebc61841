"""Keep dbt's manifest in step with the project's files, so Dagster always sees the current models."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

from orchestration.lib import paths

WATCHED = ("models", "macros", "tests", "seeds", "snapshots", "dbt_project.yml", "profiles.yml", "selectors.yml")


def newest_source_mtime(project_dir: Path) -> float:
    newest = 0.0
    for name in WATCHED:
        path = project_dir / name
        files = [path] if path.is_file() else (path.rglob("*") if path.is_dir() else [])
        for file in files:
            if file.is_file():
                newest = max(newest, file.stat().st_mtime)
    return newest


def manifest_is_stale(manifest: Path, project_dir: Path) -> bool:
    return not manifest.exists() or manifest.stat().st_mtime < newest_source_mtime(project_dir)


def parse_command(project_dir: Path, target_path: Path) -> list[str]:
    return [paths.dbt_executable(), "parse", "--quiet", "--profiles-dir", str(project_dir),
            "--project-dir", str(project_dir), "--target-path", str(target_path), "--log-path", str(target_path)]


def ensure_manifest(project_dir: Path) -> Path:
    """Run `dbt parse` when the project's manifest (in its `target/`) is missing or older than a project file.

    dbt parses into a folder of its own and the manifest is then moved into place in one step, so processes
    loading the definitions at the same time never read a half-written manifest.
    """
    target_path = project_dir / "target"
    manifest = target_path / "manifest.json"
    if manifest_is_stale(manifest, project_dir):
        target_path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="parse-", dir=target_path) as scratch:
            completed = subprocess.run(parse_command(project_dir, Path(scratch)), cwd=project_dir,
                                       capture_output=True, text=True)
            if completed.returncode != 0:
                detail = (completed.stdout + completed.stderr).strip().splitlines()
                raise RuntimeError(f"dbt could not parse {project_dir}: {' '.join(detail[-3:])}")
            os.replace(Path(scratch) / "manifest.json", manifest)
    return manifest


def models_in_schemas(manifest: Path, schemas: tuple[str, ...]) -> list[tuple[str, str]]:
    """(schema, model name) of the project's models whose schema is one of `schemas`, sorted."""
    nodes = json.loads(manifest.read_text(encoding="utf-8"))["nodes"].values()
    return sorted((node["config"].get("schema"), node["name"]) for node in nodes
                  if node["resource_type"] == "model" and node["config"].get("schema") in schemas)

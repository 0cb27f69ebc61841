"""What went wrong in a `dbt build`, in one sentence, from dbt's own `run_results.json`."""

from __future__ import annotations

import json
from pathlib import Path

FAILED = ("error", "fail", "runtime error")
KINDS = {"model": "model", "test": "test", "unit_test": "unit test", "seed": "seed", "snapshot": "snapshot"}
SHOWN = 5


def failed_nodes(run_results: Path) -> list[str]:
    """`unit test int_x_window (1 failing row)`, one per node that errored or failed, in dbt's order."""
    if not run_results.is_file():
        return []
    nodes = []
    for result in json.loads(run_results.read_text(encoding="utf-8")).get("results", []):
        if result.get("status") not in FAILED:
            continue
        kind, *_, name = result["unique_id"].split(".")
        failures = result.get("failures")
        detail = f" ({failures:,} failing row{'s' if failures != 1 else ''})" if failures else " (error)"
        nodes.append(f"{KINDS.get(kind, kind)} {name}{detail}")
    return nodes


def failure_sentence(run_results: Path, log: Path) -> str:
    """One sentence for a failed `dbt build`: which nodes failed, and where dbt's log is."""
    nodes = failed_nodes(run_results)
    if not nodes:
        return f"dbt build failed before running any node; see {log}."
    shown = ", ".join(nodes[:SHOWN]) + (f" and {len(nodes) - SHOWN} more" if len(nodes) > SHOWN else "")
    return f"dbt build failed: {shown}; the nodes downstream of them were skipped (details in {log})."

"""What one `expansion run` did, read from its Dagster events, and the paragraph the command prints about it.

Everything in the summary comes from this run's own events (and, for row counts, from the tables this run
materialised), so a failed run never reports tables an earlier run left behind as if it had made them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from orchestration.lib.names import DBT_OP, MARTS_SCHEMA, PUBLISH_GROUP, RAW_SCHEMA
from orchestration.lib.publish import CURRENT, PARQUET_DIR, published_file
from orchestration.lib.settings import Settings
from orchestration.lib.warehouse import WarehouseError, connect

LOAD_COLUMNS = ("rows_read", "rows_loaded", "rows_superseded", "rows_quarantined")
CHECK_FAILED_ERROR = "DagsterAssetCheckFailedError"  # a step that only stopped because a blocking check failed


@dataclass
class RunOutcome:
    success: bool = False
    seconds: float = 0.0
    failed_steps: dict[str, str] = field(default_factory=dict)  # step -> its error, in one sentence
    not_run: list[str] = field(default_factory=list)  # steps of the job that never started
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)  # "asset:check (first failure)"
    loads: dict[str, dict[str, int]] = field(default_factory=dict)  # table -> load counts, this run's loads
    load_modes: dict[str, str] = field(default_factory=dict)  # table -> full, incremental or unchanged
    built: list[str] = field(default_factory=list)  # asset keys materialised by this run
    deliveries: list[str] = field(default_factory=list)  # one sentence per sync that ran
    ran_dbt: bool = False
    started: set[str] = field(default_factory=set)
    summary: str = ""


def first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"


def failure_message(event: dg.DagsterEvent) -> str:
    """The user-facing sentence of a step failure: a `dg.Failure`'s description, else the innermost error."""
    data = event.step_failure_data
    if data is None:
        return "failed"
    if data.user_failure_data is not None and data.user_failure_data.description:
        return first_line(data.user_failure_data.description)
    error = data.error
    while error is not None and error.cause is not None:
        error = error.cause
    return first_line(error.message) if error is not None else "failed"


def blocked_by_check(event: dg.DagsterEvent) -> bool:
    error = event.step_failure_data.error if event.step_failure_data else None
    return error is not None and error.cls_name == CHECK_FAILED_ERROR


def check_name(evaluation: dg.AssetCheckEvaluation) -> str:
    name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
    if evaluation.description:
        return f"{name} ({first_line(evaluation.description)})"
    failures = evaluation.metadata.get("failures")
    reason = first_line(str(failures.value)).lstrip("- ") if failures is not None else ""
    return f"{name} ({reason})" if reason and reason != "none" else name


def record(outcome: RunOutcome, event: dg.DagsterEvent) -> None:
    """Fold one event into the outcome."""
    kind = event.event_type_value
    if event.is_step_failure and not blocked_by_check(event):
        outcome.failed_steps[event.step_key or "?"] = failure_message(event)
    elif kind == "STEP_START":
        outcome.started.add(event.step_key or "?")
        outcome.ran_dbt = outcome.ran_dbt or event.step_key == DBT_OP
    elif kind == "ASSET_CHECK_EVALUATION":
        evaluation = event.event_specific_data
        if evaluation.passed:
            outcome.checks_passed += 1
        elif evaluation.severity == dg.AssetCheckSeverity.ERROR:
            outcome.checks_failed.append(check_name(evaluation))
    elif kind == "ASSET_MATERIALIZATION":
        materialization = event.event_specific_data.materialization
        key, metadata = materialization.asset_key, materialization.metadata
        outcome.built.append(key.to_user_string())
        if key.path[0] == RAW_SCHEMA and all(column in metadata for column in LOAD_COLUMNS):
            outcome.loads[key.path[-1]] = {column: int(metadata[column].value) for column in LOAD_COLUMNS}
            mode = metadata.get("load_mode")
            outcome.load_modes[key.path[-1]] = str(mode.value).split(":")[0] if mode is not None else ""
        if "delivery_summary" in metadata:
            outcome.deliveries.append(str(metadata["delivery_summary"].value))


def step_name(step_key: str) -> str:
    """A step as the user knows it: `raw__order_items` is the asset raw/order_items."""
    return step_key.replace("__", "/", 1)


def outcome_from_events(events: Iterable[dg.DagsterEvent], run_succeeded: bool, steps: Iterable[str]) -> RunOutcome:
    """Fold a run's events into its outcome; `steps` are the job's steps, to tell which never started."""
    outcome = RunOutcome()
    for event in events:
        record(outcome, event)
    outcome.not_run = sorted(step_name(step) for step in set(steps) - outcome.started)
    outcome.success = run_succeeded and not outcome.checks_failed and not outcome.failed_steps
    return outcome


def mart_row_counts(warehouse: Path, marts: list[str]) -> list[tuple[str, int]] | str:
    """Row counts of the marts this run built (read-only; nothing when there are none), or why they cannot be
    read (the file held by another process, say)."""
    if not marts or not warehouse.exists():
        return []
    try:
        con = connect(warehouse, read_only=True)
    except WarehouseError as error:
        return str(error)
    try:
        return [(name, con.execute(f'select count(*) from {MARTS_SCHEMA}."{name}"').fetchone()[0]) for name in marts]
    finally:
        con.close()


def headline(outcome: RunOutcome) -> str:
    if outcome.success:
        return (f"expansion run succeeded in {outcome.seconds:.1f} s: {outcome.checks_passed} checks passed, "
                "none failed.")
    parts = [f"expansion run FAILED after {outcome.seconds:.1f} s."]
    parts += [f"Step {step} failed: {message}" for step, message in outcome.failed_steps.items()]
    if outcome.checks_failed:
        shown = outcome.checks_failed[:10]
        parts.append(f"{len(outcome.checks_failed)} blocking check(s) failed: " + ", ".join(shown)
                     + ("…" if len(outcome.checks_failed) > 10 else "."))
    if outcome.not_run:
        parts.append(f"Did not run because of that: {', '.join(outcome.not_run)}.")
    parts.append(f"{outcome.checks_passed} checks passed; nothing downstream of a failure was delivered.")
    return " ".join(parts)


def load_lines(settings: Settings, outcome: RunOutcome) -> list[str]:
    if not outcome.loads:
        return []
    quarantined = sum(counts["rows_quarantined"] for counts in outcome.loads.values())
    lines = [f"Loaded from {settings.raw_dir} ({quarantined:,} rows quarantined):",
             f"  {'table':<20} {'read':>12} {'loaded':>12} {'superseded':>11} {'quarantined':>12}  load"]
    for table, counts in sorted(outcome.loads.items()):
        read, loaded, superseded, quarantined_ = (counts[column] for column in LOAD_COLUMNS)
        lines.append(f"  {table:<20} {read:>12,} {loaded:>12,} {superseded:>11,} {quarantined_:>12,}  "
                     f"{outcome.load_modes.get(table, '')}")
    return lines


def sync_lines(settings: Settings, outcome: RunOutcome) -> list[str]:
    if not settings.sync:
        return ["Syncs: skipped (--no-sync)."]
    if not outcome.deliveries:
        return ["Syncs: none ran; nothing was delivered."]
    return ["Syncs (HubSpot and Klaviyo when their credentials are set, else the outbox "
            f"{settings.outbox}):", *(f"  {sentence}" for sentence in outcome.deliveries)]


def publish_line(settings: Settings, outcome: RunOutcome) -> str:
    """Where BI tools read the marts, and whether this run replaced them."""
    published = published_file(settings.publish_dir)
    if f"{PUBLISH_GROUP}/marts" in outcome.built:
        return f"Published for BI tools: {published} (and Parquet in {settings.publish_dir / PARQUET_DIR / CURRENT})."
    if published.exists():
        return f"Published marts not replaced: BI tools keep reading the last good ones in {published}."
    return "Nothing published for BI tools yet (a run whose marts pass their checks publishes them)."


def format_summary(settings: Settings, outcome: RunOutcome, dbt_output: Path) -> str:
    marts = sorted(key.split("/", 1)[1] for key in outcome.built if key.startswith(f"{MARTS_SCHEMA}/"))
    lines = [headline(outcome), *load_lines(settings, outcome)]
    counts = mart_row_counts(settings.warehouse, marts)
    if isinstance(counts, str):
        lines.append(f"Marts built by this run: their row counts cannot be read now. {counts}")
    elif counts:
        lines.append(f"Marts built by this run in {settings.warehouse}:")
        lines += [f"  {MARTS_SCHEMA}.{name:<34} {rows:>12,} rows" for name, rows in counts]
    lines.append(publish_line(settings, outcome))
    lines += sync_lines(settings, outcome)
    if outcome.ran_dbt:
        lines.append(f"dbt's own output: {dbt_output}")
    return "\n".join(lines)

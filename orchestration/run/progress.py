"""A compact progress logger for runs started from the command line: one line per step and per asset."""

from __future__ import annotations

import logging
import sys
import time

import dagster as dg

from orchestration.lib.names import LOGGER_ROOT, RAW_SCHEMA

WATCHED_EVENTS = {"STEP_START", "STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED", "ASSET_MATERIALIZATION",
                  "ASSET_CHECK_EVALUATION"}


class ProgressHandler(logging.Handler):
    """Prints selected Dagster events with the time since the run began."""

    def __init__(self) -> None:
        super().__init__()
        self.started = time.perf_counter()
        self.materialized = 0

    def line(self, text: str) -> None:
        elapsed = time.perf_counter() - self.started
        print(f"[{int(elapsed // 60):02d}:{elapsed % 60:04.1f}] {text}", file=sys.stderr, flush=True)

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", {}) or {}
        event = meta.get("dagster_event")
        if event is None:
            message = meta.get("orig_message") or record.getMessage()
            relevant = record.levelno >= logging.ERROR or ": read " in message
            if relevant and meta.get("step_key"):
                self.line(message.splitlines()[0])
            return
        if event.event_type_value in WATCHED_EVENTS:
            self.event_line(event)

    def event_line(self, event: dg.DagsterEvent) -> None:
        kind = event.event_type_value
        if kind == "STEP_START":
            self.line(f"start {event.step_key}")
        elif kind == "STEP_SUCCESS":
            self.line(f"done  {event.step_key}")
        elif kind == "STEP_FAILURE":
            self.line(f"FAILED {event.step_key}")
        elif kind == "STEP_SKIPPED":
            self.line(f"skipped {event.step_key} (an upstream step failed or a blocking check did not pass)")
        elif kind == "ASSET_MATERIALIZATION":
            self.materialized += 1
            key = event.event_specific_data.materialization.asset_key.to_user_string()
            if not key.startswith(f"{RAW_SCHEMA}/"):
                self.line(f"built {key} ({self.materialized} assets so far)")
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed:
                self.line(f"check failed: {evaluation.asset_key.to_user_string()} {evaluation.check_name}")


@dg.logger(description="One line per step, built asset and failed check, on standard error.")
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    # A logger of this run only, not registered in `logging`'s process-wide manager: a registered one (and its
    # handler, whose class reaches this run's objects, DuckDB connections included) would outlive the run and the
    # interpreter's teardown, which DuckDB's bindings report as leaked instances at exit.
    logger = logging.Logger(f"{LOGGER_ROOT}.progress", logging.DEBUG)
    logger.handlers = [ProgressHandler()]
    logger.propagate = False
    return logger

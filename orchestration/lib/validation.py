"""Validate a data frame against one of the project's Great Expectations suites (`expectations/*.json`).

Great Expectations over SQLAlchemy with duckdb-engine fails every expectation, so the tables that feed the
syncs are read into pandas and validated here, each call in an ephemeral context of its own (creating one
costs a few milliseconds; importing Great Expectations, done on the first call, costs seconds).
Bad data never raises: it comes back as a failed `ValidationOutcome` with one sentence per broken expectation.
`validate_sync_table` is the one gate on a sync model: the blocking check and the sync asset both apply it.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestration.lib.names import SYNC_SCHEMA
from orchestration.lib.paths import PROJECT_ROOT

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    from great_expectations import ExpectationSuite
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.data_context import EphemeralDataContext
    from great_expectations.expectations.expectation import Expectation

DEFAULT_EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
EXAMPLES_SHOWN = 3
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 20}

# What the unexpected rows of a column expectation are, in words, given the expectation's kwargs.
COLUMN_PROBLEMS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "expect_column_values_to_be_unique": lambda kwargs: "repeat a value another row holds",
    "expect_column_values_to_be_in_set": lambda kwargs: f"are not one of {kwargs['value_set']}",
    "expect_column_values_to_match_regex": lambda kwargs: f"do not match {kwargs['regex']}",
    "expect_column_values_to_be_between": (
        lambda kwargs: f"are not between {show(kwargs.get('min_value'))} and {show(kwargs.get('max_value'))}"
    ),
}
PAIR_PROBLEMS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "expect_column_pair_values_to_be_equal": (
        lambda kwargs: f"{kwargs['column_A']} differs from {kwargs['column_B']}"
    ),
    "expect_column_pair_values_a_to_be_greater_than_b": (
        lambda kwargs: f"{kwargs['column_A']} is not greater than "
        f"{'or equal to ' if kwargs.get('or_equal') else ''}{kwargs['column_B']}"
    ),
}


@dataclass(frozen=True)
class ValidationOutcome:
    """What one suite said about one data frame."""

    suite: str
    success: bool
    evaluated: int  # expectations evaluated
    failures: tuple[str, ...]  # one sentence per failed expectation
    rows: int


def suite_names(expectations_dir: Path | None = None) -> list[str]:
    """The suites in `expectations_dir` (default: the repository's `expectations/`), by name."""
    folder = expectations_dir or DEFAULT_EXPECTATIONS_DIR
    return sorted(path.stem for path in folder.glob("*.json"))


def validate_frame(frame: pd.DataFrame, suite: str, *, expectations_dir: Path | None = None) -> ValidationOutcome:
    """Validate `frame` against the suite named `suite`; raises ValueError only for an unknown or broken suite."""
    expectation_suite = load_suite(suite, expectations_dir)
    problem = frame_problem(frame)
    if problem is not None:
        return ValidationOutcome(suite=suite, success=False, evaluated=0, failures=(problem,), rows=len(frame))
    try:
        result = run_suite(frame, expectation_suite)
    except Exception as error:  # bad data must end in a failed outcome, never in a traceback
        failure = f"Great Expectations could not validate the frame against {suite}: {error}"
        return ValidationOutcome(suite=suite, success=False, evaluated=0, failures=(failure,), rows=len(frame))
    failed = sorted((each for each in result.results if not each.success), key=is_column_level)  # table-level first
    failures = tuple(describe_failure(each, rows=len(frame)) for each in failed)
    return ValidationOutcome(
        suite=suite,
        success=bool(result.success),
        evaluated=int(result.statistics["evaluated_expectations"]),
        failures=failures,
        rows=len(frame),
    )


def validate_sync_table(con: duckdb.DuckDBPyConnection, model: str, expectations_dir: Path) -> ValidationOutcome:
    """The whole table `sync.<model>`, read into a pandas data frame, against the suite named `model` in
    `expectations_dir`."""
    frame = con.execute(f"select * from {SYNC_SCHEMA}.{model}").df()
    return validate_frame(frame, model, expectations_dir=expectations_dir)


def load_suite(suite: str, expectations_dir: Path | None = None) -> ExpectationSuite:
    """The suite `expectations_dir/<suite>.json`, with every expectation in the file, or a ValueError."""
    from great_expectations import ExpectationSuite

    folder = expectations_dir or DEFAULT_EXPECTATIONS_DIR
    known = suite_names(folder)
    if suite not in known:
        raise ValueError(f"Unknown suite {suite!r}; the suites in {folder} are: {', '.join(known) or 'none'}.")
    path = folder / f"{suite}.json"
    try:
        document = json.loads(path.read_text())
    except ValueError as error:
        raise ValueError(f"Suite file {path} is not valid JSON: {error}.") from None
    if not isinstance(document, dict) or document.get("name") != suite:
        raise ValueError(f"Suite file {path} must be a JSON object whose name is {suite!r}.")
    expectations = [build_expectation(item, path, position)
                    for position, item in enumerate(document.get("expectations") or [], start=1)]
    return ExpectationSuite(name=suite, expectations=expectations, meta=document.get("meta"),
                            notes=document.get("notes"))


def build_expectation(item: Any, path: Path, position: int) -> Expectation:
    """One expectation of a suite file, built strictly.

    `ExpectationSuite(**document)` would log a traceback and drop an expectation of an unknown type; a gate must
    not lose a check quietly, so each one is built here and a bad one is refused by position.
    """
    from great_expectations.exceptions import GreatExpectationsError
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    try:
        return ExpectationConfiguration(**item).to_domain_obj()
    except (GreatExpectationsError, TypeError, ValueError) as error:
        raise ValueError(f"Expectation {position} in {path} is not valid: {error_text(error)}.") from None


def error_text(error: Exception) -> str:
    """An exception as one line; pydantic's validation errors as `field: first complaint` pairs."""
    if callable(getattr(error, "errors", None)):
        first_per_field: dict[str, str] = {}
        for each in error.errors():
            first_per_field.setdefault(".".join(map(str, each["loc"])), each["msg"])
        return "; ".join(f"{field}: {message}" for field, message in first_per_field.items())
    return " ".join(str(getattr(error, "message", None) or error).split())


def frame_problem(frame: pd.DataFrame) -> str | None:
    """A sentence for a frame Great Expectations cannot read column by column, else None."""
    duplicated = sorted({str(name) for name in frame.columns[frame.columns.duplicated()]})
    if duplicated:
        return f"The frame has duplicated column names: {', '.join(duplicated)}."
    return None


def _import_great_expectations() -> None:
    try:
        import great_expectations  # noqa: F401
        from great_expectations.data_context.types.base import DataContextConfig  # noqa: F401
    except Exception:  # the first validation imports it again and reports what is wrong
        pass


def import_in_background() -> None:
    """Start importing Great Expectations on a thread of its own (3.6 s of a tiny run, all of it Python).

    The dbt step calls this as dbt starts: the step then waits on dbt's process, so the import takes the core dbt
    leaves idle instead of delaying the checks after it. A validation that begins before the import has ended
    waits for it (Python's import lock), so nothing sees a half-imported module.
    """
    if "great_expectations" not in sys.modules:
        threading.Thread(target=_import_great_expectations, name="import-great-expectations", daemon=True).start()


def ephemeral_context() -> EphemeralDataContext:
    """An in-memory context with progress bars, analytics and data docs off."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def run_suite(frame: pd.DataFrame, suite: ExpectationSuite) -> ExpectationSuiteValidationResult:
    """Validate the whole frame as one batch of a pandas data source."""
    context = ephemeral_context()
    asset = context.data_sources.add_pandas("frames").add_dataframe_asset(suite.name)
    batch = asset.add_batch_definition_whole_dataframe("whole_frame").get_batch(batch_parameters={"dataframe": frame})
    return batch.validate(suite, result_format=RESULT_FORMAT)


def is_column_level(result: ExpectationValidationResult) -> bool:
    return any(key in result.expectation_config.kwargs for key in ("column", "column_A", "column_list"))


def describe_failure(result: ExpectationValidationResult, *, rows: int) -> str:
    """One sentence naming the column(s), how many rows broke the expectation and a few of their values."""
    config = result.expectation_config
    kind = config.type
    kwargs = config.kwargs
    details = result.result or {}
    error = exception_message(result.exception_info)
    where = kwargs.get("column") or " and ".join(str(kwargs[key]) for key in ("column_A", "column_B") if key in kwargs)
    if error is not None:
        return f"{where or 'The table'}: {kind} could not be checked ({error})."
    if kind == "expect_table_columns_to_match_set":
        return describe_column_set(details)
    count = details.get("unexpected_count")
    if count is not None and kind == "expect_column_values_to_not_be_null":
        return f"{where}: {count} of {rows} rows are null."
    if count is not None and kind in COLUMN_PROBLEMS:
        problem = COLUMN_PROBLEMS[kind](kwargs)
        return f"{where}: {count} of {rows} rows {problem} (e.g. {examples(details)})."
    if count is not None and kind in PAIR_PROBLEMS:
        problem = PAIR_PROBLEMS[kind](kwargs)
        return f"{where}: {count} of {rows} rows where {problem} (e.g. {examples(details)})."
    return f"{where or 'The table'}: {kind} failed (observed {details.get('observed_value')!r})."


def describe_column_set(details: Mapping[str, Any]) -> str:
    mismatched = details.get("details", {}).get("mismatched", {})
    parts = [f"{label} {', '.join(map(str, sorted(mismatched.get(key) or [], key=str)))}"
             for key, label in (("missing", "missing"), ("unexpected", "unexpected"))
             if mismatched.get(key)]
    return f"The columns do not match the suite: {'; '.join(parts) or details.get('observed_value')}."


def examples(details: Mapping[str, Any]) -> str:
    """A few distinct unexpected values, as text."""
    shown: list[str] = []
    for value in details.get("partial_unexpected_list") or []:
        text = show(value)
        if text not in shown:
            shown.append(text)
        if len(shown) == EXAMPLES_SHOWN:
            break
    return ", ".join(shown) or "no example kept"


def show(value: Any) -> str:
    """A value as a failure sentence quotes it: text in quotes, missing values as null, 1.0 as 1."""
    import pandas as pd

    if isinstance(value, list | tuple):
        return f"({', '.join(show(each) for each in value)})"
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Great Expectations stores the bounds 1 and 10 as 1.0 and 10.0
    return repr(value) if isinstance(value, str) else str(value)


def exception_message(info: Mapping[str, Any] | None) -> str | None:
    """The first error Great Expectations caught while computing a result, if any.

    `exception_info` is either one `{raised_exception, exception_message, ...}` record or, when a metric
    failed, a mapping of metric ids to such records.
    """
    if not info:
        return None
    records = [info] if "raised_exception" in info else [each for each in info.values() if isinstance(each, Mapping)]
    for record in records:
        if record.get("raised_exception"):
            return str(record.get("exception_message") or "unknown error").removeprefix("Error: ")
    return None

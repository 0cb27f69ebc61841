"""Volume drift: does this run's row count look like the recent history of accepted runs?

Every run records, per table (raw tables, marts, sync models), its row count in `audit.volume_history` with the
as-of date and the run id; for `orders` and `usage_events` also the rows of the last `RECENT_DAYS` days up to the
as-of date (by `ordered_at` / `occurred_at`), so a load that kept its old rows but lost the new ones shows too.

The baseline of a table is the median over its latest `HISTORY_DATES` as-of dates, up to and including this one,
of the count an accepted run recorded for that date (the latest accepted run per date: re-running one as-of date
does not count twice). A run's counts are accepted when its check passes. A count more than the table's
`max_change` share below or above the baseline fails; with no history the check passes and says so; a table
whose `max_change` is None is recorded and not judged, and the recent days are judged only when the baseline
holds at least `MIN_RECENT_ROWS` of them (fewer swing by chance from one day to the next). `accept` (the
`--accept-volume-change` option) accepts a real change on purpose: the run's counts become the new baseline and
the older history of the table is set aside.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from orchestration.lib.names import AUDIT_SCHEMA

HISTORY = f"{AUDIT_SCHEMA}.volume_history"
RECENT_DAYS = 7  # the recent window of the daily tables: one week, so that weekdays weigh alike
HISTORY_DATES = 7  # the baseline is the median over this many as-of dates
MIN_RECENT_ROWS = 50  # fewer recent rows than this in the baseline swing by chance: not judged
DAY_COLUMNS = {"orders": "ordered_at", "usage_events": "occurred_at"}  # tables whose recent days are judged too


@dataclass(frozen=True)
class Measurement:
    table: str  # the name the settings use: a raw table's name, or a mart's or sync model's
    relation: str  # schema.table in the warehouse
    rows: int
    recent_rows: int | None = None  # rows in the last RECENT_DAYS days, for the daily tables


@dataclass(frozen=True)
class Verdict:
    passed: bool
    sentence: str
    baseline_rows: float | None = None
    baseline_recent_rows: float | None = None
    history_dates: int = 0

    def metadata(self, measurement: Measurement) -> dict[str, float | int | str | None]:
        return {"rows": measurement.rows, "recent_rows": measurement.recent_rows, "baseline_rows": self.baseline_rows,
                "baseline_recent_rows": self.baseline_recent_rows, "history_dates": self.history_dates}


def ensure_history(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {AUDIT_SCHEMA}")
    con.execute(f"""
        create table if not exists {HISTORY} (
            run_id varchar not null, as_of_date date not null, table_name varchar not null,
            relation varchar not null, row_count bigint not null, recent_rows bigint, accepted boolean not null,
            set_aside boolean not null default false, recorded_at timestamp not null default current_timestamp
        )""")


def measure(con: duckdb.DuckDBPyConnection, table: str, relation: str, as_of: date) -> Measurement:
    """Count the relation's rows (and its recent days, for a daily table) as of `as_of`."""
    rows = con.execute(f"select count(*) from {relation}").fetchone()[0]
    recent = None
    if table in DAY_COLUMNS and relation.endswith(f".{table}"):
        first = as_of - timedelta(days=RECENT_DAYS - 1)
        recent = con.execute(f"select count(*) from {relation} where cast({DAY_COLUMNS[table]} as date) between ? "
                             "and ?", [first, as_of]).fetchone()[0]
    return Measurement(table, relation, rows, recent)


def baseline(con: duckdb.DuckDBPyConnection, table: str, as_of: date, run_id: str) -> list[tuple[int, int | None]]:
    """(row count, recent rows) of the latest accepted run per as-of date, for the latest HISTORY_DATES dates."""
    return con.execute(f"""
        select row_count, recent_rows from (
            select as_of_date, row_count, recent_rows,
                row_number() over (partition by as_of_date order by recorded_at desc) as position
            from {HISTORY}
            where table_name = ? and accepted and not set_aside and as_of_date <= ? and run_id <> ?
        ) where position = 1 order by as_of_date desc limit {HISTORY_DATES}""", [table, as_of, run_id]).fetchall()


def change_sentence(what: str, value: int, typical: float, max_change: float) -> str | None:
    """Why `value` is too far from `typical`, or None when it is within `max_change` of it."""
    if typical == 0:
        return None if value == 0 else f"{what} {value:,} rows where the accepted runs had none"
    change = value / typical - 1
    if abs(change) <= max_change:
        return None
    direction = "fewer" if change < 0 else "more"
    return (f"{what} {value:,} rows, {abs(change):.0%} {direction} than the median of the accepted runs "
            f"({typical:,.0f})")


def judge(con: duckdb.DuckDBPyConnection, measurement: Measurement, as_of: date, run_id: str,
          max_change: float | None, accept: bool = False) -> Verdict:
    """Compare `measurement` with its baseline (see the module docstring); nothing is written."""
    history = baseline(con, measurement.table, as_of, run_id)
    name = measurement.relation
    if accept:
        return Verdict(True, f"{name}: {measurement.rows:,} rows accepted as the new baseline on request.")
    if not history:
        return Verdict(True, f"{name}: {measurement.rows:,} rows; first run with no history to compare with, so "
                             "it passes and starts the history.")
    typical = statistics.median(rows for rows, _ in history)
    recent = [value for _, value in history if value is not None]
    typical_recent = statistics.median(recent) if recent else None
    if max_change is None:
        return Verdict(True, f"{name}: {measurement.rows:,} rows, recorded and not judged (no limit is set).",
                       typical, typical_recent, len(history))
    problems = [change_sentence("has", measurement.rows, typical, max_change)]
    if measurement.recent_rows is not None and typical_recent is not None and typical_recent >= MIN_RECENT_ROWS:
        problems.append(change_sentence(f"its last {RECENT_DAYS} days hold", measurement.recent_rows,
                                        typical_recent, max_change))
    problems = [problem for problem in problems if problem]
    if problems:
        text = "; ".join(problems)
        text = f"{name} {text}" if text.startswith("has") else f"{name}: {text}"
        return Verdict(False, f"{text}, beyond the limit of ±{max_change:.0%}", typical, typical_recent,
                       len(history))
    return Verdict(True, f"{name}: {measurement.rows:,} rows, within ±{max_change:.0%} of the median of "
                         f"{len(history)} accepted run(s) ({typical:,.0f}).", typical, typical_recent, len(history))


def record(con: duckdb.DuckDBPyConnection, measurement: Measurement, as_of: date, run_id: str, accepted: bool,
           set_aside_history: bool = False) -> None:
    """Store the measurement; with `set_aside_history`, the table's earlier history stops counting."""
    ensure_history(con)
    con.begin()
    try:
        if set_aside_history:
            con.execute(f"update {HISTORY} set set_aside = true where table_name = ?", [measurement.table])
        con.execute(f"delete from {HISTORY} where run_id = ? and table_name = ?", [run_id, measurement.table])
        con.execute(f"insert into {HISTORY} (run_id, as_of_date, table_name, relation, row_count, recent_rows, "
                    "accepted) values (?, ?, ?, ?, ?, ?, ?)",
                    [run_id, as_of, measurement.table, measurement.relation, measurement.rows,
                     measurement.recent_rows, accepted])
        con.commit()
    except BaseException:
        con.rollback()
        raise


def check_volume(con: duckdb.DuckDBPyConnection, measurement: Measurement, as_of: date, run_id: str,
                 max_change: float | None, accept: bool = False) -> Verdict:
    """Judge the measurement against the history, then record it (accepted when it passed)."""
    ensure_history(con)
    verdict = judge(con, measurement, as_of, run_id, max_change, accept)
    record(con, measurement, as_of, run_id, accepted=verdict.passed, set_aside_history=accept)
    return verdict

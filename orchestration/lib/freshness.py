"""Freshness: is the newest order, usage event and subscription change recent enough for the as-of instant?

A run's marts describe the as-of instant (the end of `as_of_date`, UTC). When the newest row of a table that
grows every day is older than its limit before that instant, the extract is stale and the marts would describe
an old world as if it were today: the check fails before anything is delivered. Rows after the as-of instant are
ignored, as the marts ignore them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from orchestration.lib.names import RAW_SCHEMA

# The moments that say a table is current: a new order, a usage reading, a subscription line opened or closed.
EVENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "orders": ("ordered_at",),
    "usage_events": ("occurred_at",),
    "subscription_items": ("valid_from", "valid_to"),
}


@dataclass(frozen=True)
class Freshness:
    table: str
    newest: datetime | None  # the newest event before the as-of instant, None when there is none
    as_of_instant: datetime
    limit_hours: float | None

    @property
    def age_hours(self) -> float | None:
        return None if self.newest is None else (self.as_of_instant - self.newest) / timedelta(hours=1)

    @property
    def passed(self) -> bool:
        if self.limit_hours is None:
            return True
        return self.age_hours is not None and self.age_hours <= self.limit_hours

    def sentence(self) -> str:
        columns = " / ".join(EVENT_COLUMNS[self.table])
        instant = self.as_of_instant.strftime("%Y-%m-%d %H:%M")
        if self.newest is None:
            return f"{RAW_SCHEMA}.{self.table} has no {columns} before the as-of instant {instant} UTC"
        age = self.age_hours or 0.0
        when = f"{age / 24:.1f} days" if age >= 48 else f"{age:.1f} hours"
        text = (f"{RAW_SCHEMA}.{self.table}: the newest {columns} is {self.newest:%Y-%m-%d %H:%M} UTC, {when} before "
                f"the as-of instant {instant} UTC")
        if self.limit_hours is None:
            return text + " (not judged: no limit is set)"
        verdict = "within" if self.passed else "beyond"
        return text + f", {verdict} the limit of {self.limit_hours:g} hours"


def newest_event(con: duckdb.DuckDBPyConnection, table: str, as_of_instant: datetime) -> datetime | None:
    """The newest event time of `table` before `as_of_instant` (UTC, naive), or None."""
    parts = [f"select max({column}) as moment from {RAW_SCHEMA}.{table} where {column} < ?"
             for column in EVENT_COLUMNS[table]]
    sql = f"select max(moment) from ({' union all '.join(parts)})"
    return con.execute(sql, [as_of_instant] * len(parts)).fetchone()[0]


def check_freshness(con: duckdb.DuckDBPyConnection, table: str, as_of_instant: datetime,
                    limit_hours: float | None) -> Freshness:
    return Freshness(table, newest_event(con, table, as_of_instant), as_of_instant, limit_hours)

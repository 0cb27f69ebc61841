"""The freshness gate: the newest event against the as-of instant, future rows ignored."""

from __future__ import annotations

from datetime import datetime

import duckdb

from orchestration.lib.freshness import check_freshness
from orchestration.lib.settings import DEFAULT_FRESHNESS_HOURS

INSTANT = datetime(2026, 11, 23)  # the end of as_of_date 2026-11-22


def warehouse(*rows: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute("create table raw.subscription_items (valid_from timestamp, valid_to timestamp)")
    for valid_from, valid_to in (row.split("|") for row in rows):
        con.execute("insert into raw.subscription_items values (?, nullif(?, ''))", [valid_from, valid_to])
    return con


def test_a_recent_change_passes_and_an_old_one_fails() -> None:
    con = warehouse("2026-11-01 00:00:00|2026-11-22 06:00:00")  # closed 18 hours before the instant
    assert check_freshness(con, "subscription_items", INSTANT, 24).passed
    stale = check_freshness(con, "subscription_items", INSTANT, 12)
    assert not stale.passed
    assert stale.sentence() == ("raw.subscription_items: the newest valid_from / valid_to is 2026-11-22 06:00 UTC, "
                                "18.0 hours before the as-of instant 2026-11-23 00:00 UTC, beyond the limit of 12 "
                                "hours")


def test_rows_after_the_as_of_instant_do_not_make_old_data_fresh() -> None:
    con = warehouse("2026-08-01 00:00:00|", "2026-12-01 00:00:00|")
    freshness = check_freshness(con, "subscription_items", INSTANT, 168)
    assert freshness.newest == datetime(2026, 8, 1)
    assert not freshness.passed and "114.0 days before" in freshness.sentence()


def test_an_empty_table_fails_and_no_limit_passes() -> None:
    assert not check_freshness(warehouse(), "subscription_items", INSTANT, 168).passed
    assert check_freshness(warehouse("2020-01-01 00:00:00|"), "subscription_items", INSTANT, None).passed


def test_the_defaults_cover_the_tables_that_grow_daily() -> None:
    assert DEFAULT_FRESHNESS_HOURS == {"orders": 48, "usage_events": 48, "subscription_items": 168}

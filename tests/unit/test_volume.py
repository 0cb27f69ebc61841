"""The volume gate: first runs pass, drops and jumps beyond the limit fail, one as-of date counts once."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest

from orchestration.lib.settings import DEFAULT_VOLUME_MAX_CHANGE
from orchestration.lib.volume import (
    HISTORY,
    MIN_RECENT_ROWS,
    RECENT_DAYS,
    Measurement,
    check_volume,
    judge,
    measure,
)

AS_OF = date(2026, 11, 22)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def orders(count: int, recent: int | None = None) -> Measurement:
    return Measurement("orders", "raw.orders", count, recent)


def test_the_first_run_passes_and_says_so(con: duckdb.DuckDBPyConnection) -> None:
    verdict = check_volume(con, orders(1000, 70), AS_OF, "run-1", 0.5)
    assert verdict.passed
    assert "first run with no history" in verdict.sentence


def test_a_drop_beyond_the_limit_fails_with_its_figures(con: duckdb.DuckDBPyConnection) -> None:
    for day in range(3):
        assert check_volume(con, orders(1000 + day, 70), AS_OF + timedelta(days=day), f"run-{day}", 0.5).passed
    verdict = check_volume(con, orders(100, 70), AS_OF + timedelta(days=3), "run-lost", 0.5)
    assert not verdict.passed
    assert verdict.sentence == ("raw.orders has 100 rows, 90% fewer than the median of the accepted runs (1,001), "
                                "beyond the limit of ±50%")
    assert verdict.baseline_rows == 1001
    # the failed run's count is kept for the record but never becomes history
    assert judge(con, orders(1000, 70), AS_OF + timedelta(days=4), "run-next", 0.5).baseline_rows == 1001


def test_a_jump_fails_and_a_change_within_the_limit_passes(con: duckdb.DuckDBPyConnection) -> None:
    check_volume(con, orders(1000), AS_OF, "run-1", 0.5)
    assert not judge(con, orders(1600), AS_OF, "run-2", 0.5).passed
    assert "60% more" in judge(con, orders(1600), AS_OF, "run-2", 0.5).sentence
    assert judge(con, orders(1400), AS_OF, "run-2", 0.5).passed
    assert judge(con, orders(600), AS_OF, "run-2", 0.5).passed
    assert not judge(con, orders(499), AS_OF, "run-2", 0.5).passed


def test_the_recent_days_are_judged_on_their_own(con: duckdb.DuckDBPyConnection) -> None:
    check_volume(con, orders(1000, 70), AS_OF, "run-1", 0.5)
    verdict = judge(con, orders(1000, 7), AS_OF, "run-2", 0.5)
    assert not verdict.passed
    assert verdict.sentence.startswith(f"raw.orders: its last {RECENT_DAYS} days hold 7 rows, 90% fewer")


def test_too_few_recent_rows_to_judge_are_not_judged(con: duckdb.DuckDBPyConnection) -> None:
    check_volume(con, orders(1000, MIN_RECENT_ROWS - 1), AS_OF, "run-1", 0.5)
    assert judge(con, orders(1000, 3 * MIN_RECENT_ROWS), AS_OF, "run-2", 0.5).passed
    assert not judge(con, orders(100, 3 * MIN_RECENT_ROWS), AS_OF, "run-2", 0.5).passed  # the total still is


def test_rerunning_one_as_of_date_counts_once(con: duckdb.DuckDBPyConnection) -> None:
    check_volume(con, orders(1000), AS_OF - timedelta(days=1), "run-0", 0.5)
    for attempt in range(5):  # the same date again and again, with a higher count each time
        check_volume(con, orders(1400 + attempt), AS_OF, f"run-again-{attempt}", 0.5)
    # the baseline is the median of one count per date (1,000 and the latest 1,404), not of six runs
    assert judge(con, orders(1200), AS_OF, "run-new", 0.5).baseline_rows == pytest.approx((1000 + 1404) / 2)


def test_no_limit_records_without_judging(con: duckdb.DuckDBPyConnection) -> None:
    check_volume(con, orders(1000), AS_OF, "run-1", None)
    verdict = check_volume(con, orders(1), AS_OF, "run-2", None)
    assert verdict.passed and "not judged" in verdict.sentence
    assert con.execute(f"select count(*) from {HISTORY}").fetchone()[0] == 2


def test_accepting_a_change_starts_a_new_baseline(con: duckdb.DuckDBPyConnection) -> None:
    check_volume(con, orders(1000), AS_OF, "run-1", 0.5)
    assert not judge(con, orders(100), AS_OF, "run-2", 0.5).passed
    assert check_volume(con, orders(100), AS_OF, "run-2", 0.5, accept=True).passed
    # the old level is set aside: 100 is now the baseline, and 1,000 would be a jump
    assert judge(con, orders(100), AS_OF, "run-3", 0.5).passed
    assert not judge(con, orders(1000), AS_OF, "run-3", 0.5).passed


def test_measure_counts_rows_and_the_last_days_by_event_date(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema raw")
    con.execute("create table raw.orders as select range as order_id, timestamp '2026-11-22 12:00:00' - "
                "to_days(cast(range as integer)) as ordered_at from range(30)")
    assert measure(con, "orders", "raw.orders", AS_OF) == Measurement("orders", "raw.orders", 30, RECENT_DAYS)
    assert measure(con, "customers", "raw.orders", AS_OF).recent_rows is None


def test_the_defaults_judge_every_raw_table_at_half() -> None:
    from orchestration.lib.contract import TABLE_NAMES

    assert all(DEFAULT_VOLUME_MAX_CHANGE[name] == 0.5 for name in TABLE_NAMES)


def test_the_soak_operator_accepts_volume_changes_and_nothing_else() -> None:
    from types import SimpleNamespace

    from tests.support.soak import volume_changes_to_accept

    def failed(*checks: str) -> SimpleNamespace:
        return SimpleNamespace(returncode=1, summary=f"expansion run FAILED after 9.5 s. {len(checks)} blocking "
                               f"check(s) failed: {', '.join(checks)}. Did not run because of that: x.")

    orders = "raw/orders:volume_drift (raw.orders: its last 7 days hold 91 rows, 60% more than the median (57))"
    usage = "raw/usage_events:volume_drift (raw.usage_events has 10 rows, 90% fewer)"
    mart = "audit/mart_volumes:volume_drift (marts.copurchase_pairs has 0 rows, 100% fewer)"
    stale = "raw/orders:fresh_at_as_of (raw.orders: the newest ordered_at is 90.0 days before the as-of instant)"
    assert volume_changes_to_accept(failed(orders)) == ["orders"]
    assert volume_changes_to_accept(failed(usage, orders)) == ["orders", "usage_events"]
    assert volume_changes_to_accept(failed(orders, mart)) == ["all"]
    assert volume_changes_to_accept(failed(orders, stale)) == []
    assert volume_changes_to_accept(SimpleNamespace(returncode=0, summary="expansion run succeeded")) == []
    crashed = failed(orders)
    crashed.summary = "Step dbt_build failed: boom. " + crashed.summary
    assert volume_changes_to_accept(crashed) == []

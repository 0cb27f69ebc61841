"""The revenue marts on generated data: mrr_monthly, nrr_monthly, nrr_monthly_by_segment and the change split.

The build runs the revenue models and everything upstream of them, with their dbt tests (unit tests, the
singular tests under dbt_project/tests/revenue: the exact bridge, the naive customer × month spine that
mrr_monthly must equal, the change split), on a copy of the session's loaded warehouse. The tests below then
check the contract's promises again from Python, independently of the SQL.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.conftest import AS_OF, run_dbt

pytestmark = pytest.mark.slow

REVENUE_SELECTION = ["+nrr_monthly", "+nrr_monthly_by_segment", "+int_mrr_changes_explained"]
MOVEMENT_COLUMNS = ["new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "reactivation_mrr"]


@pytest.fixture(scope="module")
def revenue_warehouse(loaded_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("revenue")
    warehouse = folder / "revenue.duckdb"
    shutil.copy(loaded_warehouse, warehouse)
    # cautious: leave out other areas' tests that reach models outside this selection (staging relationships)
    run_dbt(["build", "--select", *REVENUE_SELECTION, "--indirect-selection", "cautious"], warehouse,
            folder / "target")
    return warehouse


@pytest.fixture(scope="module")
def con(revenue_warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(revenue_warehouse), read_only=True)
    yield connection
    connection.close()


def frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    return con.execute(sql).df()


def test_the_build_ran_the_revenue_checks(revenue_warehouse: Path) -> None:
    """The selection includes the singular tests; `run_dbt` raised if any had failed. Prove they ran."""
    target = revenue_warehouse.parent / "target"
    results = (target / "run_results.json").read_text()
    for name in ("assert_mrr_bridge_reconciles", "assert_mrr_monthly_matches_naive_spine",
                 "assert_mrr_changes_fully_explained", "stg_raw__subscription_items_normalises_to_a_month",
                 "mrr_monthly_classifies_every_movement"):
        assert name in results, name


def test_bridge_holds_every_month_exactly(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(f"""
        select month, starting_mrr, {', '.join(MOVEMENT_COLUMNS)}, ending_mrr
        from marts.nrr_monthly order by month""").fetchall()
    assert len(rows) >= 24
    previous_ending = Decimal("0")
    for month, starting, new, expansion, contraction, churned, reactivation, ending in rows:
        assert starting == previous_ending, month
        assert starting + new + expansion - contraction - churned + reactivation == ending, month
        assert min(new, expansion, contraction, churned, reactivation) >= 0, month
        previous_ending = ending
    # the same per segment
    segment_rows = con.execute(f"""
        select segment, month, starting_mrr, {', '.join(MOVEMENT_COLUMNS)}, ending_mrr
        from marts.nrr_monthly_by_segment order by segment, month""").fetchall()
    assert {row[0] for row in segment_rows} <= {"smb", "mid_market", "enterprise", "unknown"}
    previous_by_segment: dict[str, Decimal] = {}
    for segment, month, starting, new, expansion, contraction, churned, reactivation, ending in segment_rows:
        assert starting == previous_by_segment.get(segment, Decimal("0")), (segment, month)
        assert starting + new + expansion - contraction - churned + reactivation == ending, (segment, month)
        previous_by_segment[segment] = ending


def test_ending_mrr_is_the_sum_of_mrr_monthly(con: duckdb.DuckDBPyConnection) -> None:
    totals = dict(con.execute("select month, sum(mrr) from marts.mrr_monthly group by month").fetchall())
    endings = dict(con.execute("select month, ending_mrr from marts.nrr_monthly").fetchall())
    assert {month for month, total in totals.items() if total != 0} <= set(endings)
    for month, ending in endings.items():
        assert ending == totals.get(month, Decimal("0")), month
    by_segment = dict(con.execute(
        "select month, sum(ending_mrr) from marts.nrr_monthly_by_segment group by month").fetchall())
    assert by_segment == endings


def test_rows_follow_the_contract(con: duckdb.DuckDBPyConnection) -> None:
    # money as integer cents, so the comparisons are exact
    rows = frame(con, """
        select customer_id, month, movement, cast(mrr * 100 as bigint) as mrr,
            cast(previous_mrr * 100 as bigint) as previous_mrr, cast(mrr_change * 100 as bigint) as mrr_change,
            cast(plan_mrr * 100 as bigint) as plan_mrr, cast(addon_mrr * 100 as bigint) as addon_mrr
        from marts.mrr_monthly order by customer_id, month""")
    assert (rows["mrr_change"] == rows["mrr"] - rows["previous_mrr"]).all()
    assert (rows["plan_mrr"] + rows["addon_mrr"] == rows["mrr"]).all()
    assert (rows.loc[rows["movement"].isin(["new", "reactivation"]), "previous_mrr"] == 0).all()
    churn = rows[rows["movement"] == "churn"]
    assert (churn["mrr"] == 0).all() and (churn["mrr_change"] < 0).all()
    assert (rows.loc[rows["movement"] != "churn", "mrr"] > 0).all()
    # one `new` per customer, on its first row
    firsts = rows.groupby("customer_id").head(1)
    assert (firsts["movement"] == "new").all()
    assert (rows["movement"] == "new").sum() == rows["customer_id"].nunique()


def test_reactivations_exist_and_follow_a_churn(con: duckdb.DuckDBPyConnection) -> None:
    rows = frame(con, "select customer_id, month, movement, mrr from marts.mrr_monthly order by customer_id, month")
    reactivations = rows[rows["movement"] == "reactivation"]
    assert len(reactivations) > 0, "the generated data has churned customers that come back"
    for customer_id, month in zip(reactivations["customer_id"], reactivations["month"], strict=True):
        history = rows[(rows["customer_id"] == customer_id) & (rows["month"] < month)]
        assert len(history) > 0
        # the row before a reactivation is the churn month: nothing is listed while the customer is gone
        assert history.iloc[-1]["movement"] == "churn", (customer_id, month)
    # and a churn is never directly followed by a paid month listed as expansion
    rows["next_movement"] = rows.groupby("customer_id")["movement"].shift(-1)
    after_churn = rows.loc[rows["movement"] == "churn", "next_movement"].dropna()
    assert set(after_churn) <= {"reactivation"}


def test_trials_carry_no_mrr(con: duckdb.DuckDBPyConnection) -> None:
    lines = frame(con, f"""
        select customer_id, status, valid_from, valid_to
        from staging.stg_raw__subscription_items
        where valid_from < cast('{AS_OF}' as date) + interval 1 day""")
    trial_customers = set(lines.loc[lines["status"] == "trialing", "customer_id"])
    assert trial_customers, "the generated data has trials"
    paying_customers = set(lines.loc[lines["status"] == "active", "customer_id"])
    never_paid = trial_customers - paying_customers
    assert never_paid, "some generated trials never convert"
    rows = frame(con, "select customer_id, month, movement, mrr from marts.mrr_monthly")
    assert not set(rows["customer_id"]) & never_paid

    # a converting trial's first row is `new`, in the month its first active line starts (or later), and it has
    # no row while only the trial was valid
    first_active = (lines[lines["status"] == "active"].groupby("customer_id")["valid_from"].min()
                    .dt.to_period("M").dt.to_timestamp())
    firsts = rows.sort_values("month").groupby("customer_id").head(1).set_index("customer_id")
    converted = sorted(trial_customers & set(firsts.index))
    assert converted
    for customer_id in converted:
        assert firsts.loc[customer_id, "movement"] == "new"
        assert pd.Timestamp(firsts.loc[customer_id, "month"]) >= first_active[customer_id], customer_id


def test_retention_matches_an_independent_computation(con: duckdb.DuckDBPyConnection) -> None:
    rows = frame(con, "select customer_id, month, mrr from marts.mrr_monthly")
    segments = frame(con, "select customer_id, coalesce(segment, 'unknown') as segment from staging.stg_raw__customers")
    rows["mrr"] = rows["mrr"].astype(float)
    rows["month"] = pd.to_datetime(rows["month"])
    wide = rows.pivot(index="customer_id", columns="month", values="mrr").fillna(0.0)
    segment_of = segments.set_index("customer_id")["segment"].reindex(wide.index).fillna("unknown")

    def expected(selection: pd.Index, month: pd.Timestamp) -> tuple[float | None, float | None]:
        back = month - pd.DateOffset(months=12)
        if back not in set(wide.columns):
            return None, None
        then = wide.loc[selection, back]
        now = wide.loc[selection, month] if month in set(wide.columns) else then * 0
        cohort = then > 0
        if then[cohort].sum() == 0:
            return None, None
        return (now[cohort].sum() / then[cohort].sum(),
                now[cohort].clip(upper=then[cohort]).sum() / then[cohort].sum())

    overall = frame(con, "select month, nrr_12m, grr_12m from marts.nrr_monthly order by month")
    checked = 0
    for row in overall.itertuples():
        nrr, grr = expected(wide.index, pd.Timestamp(row.month))
        if nrr is None:
            assert pd.isna(row.nrr_12m) and pd.isna(row.grr_12m), row.month
            continue
        assert abs(row.nrr_12m - nrr) < 1e-12, (row.month, row.nrr_12m, nrr)
        assert abs(row.grr_12m - grr) < 1e-12, (row.month, row.grr_12m, grr)
        assert row.grr_12m <= 1.0
        checked += 1
    assert checked >= 12

    by_segment = frame(con, "select month, segment, nrr_12m, grr_12m from marts.nrr_monthly_by_segment")
    for row in by_segment.itertuples():
        nrr, grr = expected(segment_of.index[segment_of == row.segment], pd.Timestamp(row.month))
        if nrr is None:
            assert pd.isna(row.nrr_12m), (row.month, row.segment)
            continue
        assert abs(row.nrr_12m - nrr) < 1e-12, (row.month, row.segment)
        assert abs(row.grr_12m - grr) < 1e-12, (row.month, row.segment)


def test_changes_are_explained_to_the_cent(con: duckdb.DuckDBPyConnection) -> None:
    components = ["subscription_start_stop_mrr", "tier_change_mrr", "addon_change_mrr", "seat_change_mrr",
                  "price_change_mrr", "fx_change_mrr", "rounding_mrr"]
    cents = ", ".join(f"cast({column} * 100 as bigint) as {column}" for column in ["mrr_change", *components])
    explained = frame(con, f"select movement, {cents} from intermediate.int_mrr_changes_explained")
    assert len(explained) > 0
    assert (explained[components].sum(axis=1) == explained["mrr_change"]).all()
    assert explained["rounding_mrr"].abs().max() <= 4
    # every kind of change occurs in generated data, and new/churn/reactivation are starts and stops
    for column in components[:-1]:
        assert (explained[column] != 0).any(), column
    starts = explained[explained["movement"].isin(["new", "reactivation", "churn"])]
    assert (starts[["tier_change_mrr", "seat_change_mrr", "price_change_mrr", "fx_change_mrr"]] == 0).all().all()


def test_every_dbt_unit_test_ran_and_passed(built_warehouse: Path) -> None:
    """`expansion run` leaves dbt's unit tests out (they check SQL, not data); the suite's dbt build runs them all."""
    import yaml

    from orchestration.lib import paths

    defined = {test["name"] for path in (paths.DBT_PROJECT_DIR / "models").rglob("_*.yml")
               for test in (yaml.safe_load(path.read_text()) or {}).get("unit_tests", [])}
    results = json.loads((built_warehouse.parent / "target" / "run_results.json").read_text())["results"]
    ran = {result["unique_id"].split(".")[-1]: result["status"] for result in results
           if result["unique_id"].startswith("unit_test.")}
    assert len(defined) >= 35
    assert ran == dict.fromkeys(defined, "pass")

"""A daily refresh costs a day's work and ends where a full refresh of the same input ends, table for table.

The landing directory moves forward a day at a time (orchestration/lib/generator/timeline.py): new part files of
orders, order lines, usage, contacts, customers and rates each day, the subscription history file rewritten,
late orders for old days, orders cancelled after delivery, a subscription line corrected back to its start and
a product switched off. Each day `expansion run` loads only the new files and rebuilds only the changed
partitions. The last day is then run again from the same history with `--full-refresh` (every table loaded from
all its files, every incremental model rebuilt from scratch; the send and flag histories are inputs, so they are
kept): every raw, quarantine, superseded, intermediate, mart and sync table must be equal.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from orchestration.lib.compare import compare_warehouses
from orchestration.lib.generator.timeline import Changes, write_landing_as_of
from orchestration.run import cli
from tests.conftest import AS_OF, read_warehouse

LAST_DAY = date.fromisoformat(AS_OF)
FIRST_DAY = LAST_DAY - timedelta(days=3)
SMALL_DATA_VARS = ["--var", "cross_sell_min_pair_orders=3"]


def pick(landing: Path, sql: str) -> list[str]:
    con = duckdb.connect()
    try:
        return [row[0] for row in con.execute(sql.format(landing=landing)).fetchall()]
    finally:
        con.close()


def scenario(landing: Path) -> Changes:
    """Late orders from before the first day arrive on the third; two delivered orders are cancelled on the third;
    a subscription line that started months ago is corrected on the second; a product is switched off last."""
    late = pick(landing, "select distinct order_id from read_parquet('{landing}/orders/*.parquet') "
                         f"where ordered_at < date '{FIRST_DAY - timedelta(days=20)}' order by order_id limit 4")
    cancelled = pick(landing, "select order_id from read_parquet('{landing}/orders/*.parquet') where status = "
                              f"'delivered' and ordered_at between date '{FIRST_DAY - timedelta(days=60)}' and "
                              f"date '{FIRST_DAY}' order by order_id limit 2")
    corrected = pick(landing, "select item_id from read_parquet('{landing}/subscription_items/*.parquet') where "
                              f"status = 'active' and valid_from < date '{FIRST_DAY - timedelta(days=90)}' "
                              "order by item_id limit 1")
    product = pick(landing, "select product_id from read_parquet('{landing}/products.parquet') where is_active "
                            "order by product_id limit 1")
    assert late and cancelled and corrected and product
    third, second = FIRST_DAY + timedelta(days=2), FIRST_DAY + timedelta(days=1)
    return Changes(hold_back=dict.fromkeys(late, third), cancel=dict.fromkeys(cancelled, third),
                   correct_quantity=dict.fromkeys(corrected, second), deactivate=dict.fromkeys(product, LAST_DAY))


def run(landing: Path, warehouse: Path, day: date, capsys: pytest.CaptureFixture[str], *options: str) -> str:
    code = cli.main(["run", "--raw", str(landing), "--warehouse", str(warehouse), "--no-sync",
                     "--var", f"as_of_date={day}", *SMALL_DATA_VARS, *options])
    output = capsys.readouterr().out
    assert code == 0, output
    return output


@pytest.mark.slow
def test_daily_incremental_runs_end_where_a_full_refresh_ends(small_landing: Path, isolated_env: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    changes = scenario(small_landing)
    landing, incremental = isolated_env / "landing", isolated_env / "incremental.duckdb"
    day = FIRST_DAY
    while day < LAST_DAY:
        write_landing_as_of(small_landing, landing, day, first_day=FIRST_DAY, changes=changes)
        output = run(landing, incremental, day, capsys)
        day += timedelta(days=1)
    # the run before the last: everything but the rewritten subscription file came in as new files
    assert "orders" in output and "incremental" in output
    history_before_last = isolated_env / "history.duckdb"
    shutil.copy(incremental, history_before_last)

    write_landing_as_of(small_landing, landing, LAST_DAY, first_day=FIRST_DAY, changes=changes)
    output = run(landing, incremental, LAST_DAY, capsys)
    modes = dict(read_warehouse(incremental, "select table_name, mode from audit.load_counts"))
    assert modes["usage_events"] == modes["orders"] == modes["order_items"] == "incremental"
    assert modes["subscription_items"] == "full" and modes["products"] == "full"  # rewritten files
    assert modes["plans"] == "unchanged"
    rebuilt = {row[0].isoformat() for row in read_warehouse(
        incremental, "select distinct order_date from intermediate.int_copurchase_counts_daily where _load_id = "
                     "(select max(_load_id) from intermediate.int_copurchase_counts_daily)")}
    changed = {row[0] for row in read_warehouse(
        incremental, "select distinct value from audit.changed_partitions as changes where kind = 'day' and "
                     "load_id = (select max(load_id) from audit.changed_partitions where table_name = "
                     "changes.table_name) and table_name in ('orders', 'order_items')")}
    # the daily refresh recounted the days whose orders changed (new, late, cancelled), and only those
    assert rebuilt == changed and 0 < len(rebuilt) <= 5 and max(rebuilt) <= LAST_DAY.isoformat(), (rebuilt, changed)
    months = read_warehouse(incremental, "select distinct month, _load_id = (select max(_load_id) from "
                                         "marts.mrr_monthly) from marts.mrr_monthly order by month")
    rewritten = [row[1] for row in months]
    # mrr_monthly rewrote the months from the first one a changed customer's history touches up to the as-of
    # month, and kept the months before it
    first = rewritten.index(True)
    assert all(rewritten[first:]) and not any(rewritten[:first]) and first > 0, months

    full = isolated_env / "full.duckdb"
    shutil.copy(history_before_last, full)
    run(landing, full, LAST_DAY, capsys, "--full-refresh")
    assert set(dict(read_warehouse(full, "select table_name, mode from audit.load_counts")).values()) == {"full"}

    differences = compare_warehouses(full, incremental)
    assert [difference.sentence() for difference in differences if not difference.equal] == []
    compared = {difference.table for difference in differences}
    assert {"marts.copurchase_pairs", "marts.mrr_monthly", "marts.nrr_monthly", "marts.upgrade_trigger_accounts",
            "marts.cross_sell_recommendations", "raw.orders", "quarantine.orders", "superseded.orders",
            "intermediate.int_copurchase_counts_daily"} <= compared
    # the late orders, the cancellations and the correction reached the marts
    late = list(changes.hold_back)
    assert read_warehouse(incremental, f"select count(*) from raw.orders where order_id in "
                                       f"({', '.join(repr(order) for order in late)})")[0][0] == len(late)
    cancelled = list(changes.cancel)
    assert {row[0] for row in read_warehouse(incremental, "select status from raw.orders where order_id in "
                                                          f"({', '.join(repr(order) for order in cancelled)})")} \
        == {"cancelled"}

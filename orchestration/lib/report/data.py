"""What the report shows, read from the warehouse: one small data frame per chart, aggregated in DuckDB.

The warehouse is opened read-only (a running pipeline may hold it for writing: then `open_warehouse` says so in
one sentence). A mart the warehouse does not hold yet gives `None`, and the page says which mart is missing
instead of drawing its chart.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

BRIDGE_MONTHS = 6  # the waterfalls: the last six months, one small chart each
HISTORY_MONTHS = 24  # MRR by movement and the retention trends: two years
TOP_PAIRS = 15  # the strongest co-purchase pairs shown


class ReportError(Exception):
    """A warehouse the report cannot read; the message is one sentence naming it."""


@dataclass(frozen=True)
class ReportData:
    """One frame per chart (None when its mart is missing), and what the page says about the data."""

    bridge: pd.DataFrame | None
    movements: pd.DataFrame | None
    retention: pd.DataFrame | None
    pairs: pd.DataFrame | None
    triggers: pd.DataFrame | None
    lift: pd.DataFrame | None
    latest_month: str | None
    missing: tuple[str, ...]  # marts.<name> the warehouse lacks


@contextmanager
def open_warehouse(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to `warehouse`, or ReportError in one sentence."""
    if warehouse.is_dir():
        raise ReportError(f"The warehouse {warehouse} is a directory; give the DuckDB file with --warehouse FILE.")
    if not warehouse.is_file():
        raise ReportError(f"The warehouse {warehouse} does not exist; build it with `expansion run` or give "
                          "--warehouse FILE.")
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as error:
        reason = " ".join(str(error).split()).rstrip(".")
        raise ReportError(f"The warehouse {warehouse} cannot be read ({reason}).") from None
    try:
        yield con
    finally:
        con.close()


def read_report_data(con: duckdb.DuckDBPyConnection, warehouse: Path) -> ReportData:
    """Every chart's frame; ReportError when the warehouse (`warehouse`, for the message) holds none of the
    marts."""
    present = {name for (name,) in con.execute(
        "select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()}
    needed = ("nrr_monthly", "nrr_monthly_by_segment", "copurchase_pairs", "upgrade_trigger_accounts",
              "expansion_programme_lift")
    if not present & set(needed):
        raise ReportError(f"The warehouse {warehouse} holds none of the marts the report draws (marts.nrr_monthly, "
                          "marts.copurchase_pairs, …); build them with `expansion run` first.")

    def frame(mart: str, sql: str) -> pd.DataFrame | None:
        return con.execute(sql).df() if mart in present else None

    latest = con.execute("select max(month) from marts.nrr_monthly").fetchone()[0] if "nrr_monthly" in present \
        else None
    return ReportData(
        bridge=frame("nrr_monthly", BRIDGE_SQL),
        movements=frame("nrr_monthly", MOVEMENTS_SQL),
        retention=frame("nrr_monthly_by_segment", RETENTION_SQL) if "nrr_monthly" in present else None,
        pairs=frame("copurchase_pairs", PAIRS_SQL),
        triggers=frame("upgrade_trigger_accounts", TRIGGERS_SQL),
        lift=frame("expansion_programme_lift", LIFT_SQL),
        latest_month=None if latest is None else latest.strftime("%B %Y"),
        missing=tuple(f"marts.{name}" for name in needed if name not in present),
    )


BRIDGE_SQL = f"""
    select month, starting_mrr, new_mrr, expansion_mrr, reactivation_mrr, contraction_mrr, churned_mrr, ending_mrr
    from marts.nrr_monthly
    order by month desc
    limit {BRIDGE_MONTHS}
"""

MOVEMENTS_SQL = f"""
    with recent as (
        select * from marts.nrr_monthly order by month desc limit {HISTORY_MONTHS}
    )
    select month, movement, amount from recent
    unpivot (amount for movement in (new_mrr, expansion_mrr, reactivation_mrr, contraction_mrr, churned_mrr))
    order by month, movement
"""

RETENTION_SQL = f"""
    with months as (
        select month from marts.nrr_monthly order by month desc limit {HISTORY_MONTHS}
    ),
    by_segment as (
        select month, segment, nrr_12m, grr_12m from marts.nrr_monthly_by_segment
        union all
        select month, 'all customers' as segment, nrr_12m, grr_12m from marts.nrr_monthly
    ),
    recent as (
        select by_segment.* from by_segment inner join months on by_segment.month = months.month
    )
    select month, segment, measure, ratio
    from recent
    unpivot (ratio for measure in (nrr_12m, grr_12m))
    order by month, segment, measure
"""

PAIRS_SQL = f"""
    select
        first_product.name as product_name,
        second_product.name as paired_product_name,
        pairs.orders_with_both,
        pairs.support,
        pairs.confidence,
        pairs.lift
    from marts.copurchase_pairs as pairs
    inner join raw.products as first_product on pairs.product_id = first_product.product_id
    inner join raw.products as second_product on pairs.paired_product_id = second_product.product_id
    where pairs.product_id < pairs.paired_product_id
    order by pairs.lift desc, pairs.orders_with_both desc, pairs.product_id, pairs.paired_product_id
    limit {TOP_PAIRS}
"""

TRIGGERS_SQL = """
    with flags as (
        select
            unnest(triggers) as trigger_name,
            case
                when coalesce(is_holdout, false) then 'holdout (not routed)'
                when coalesce(is_capped, false) then 'capped (open flag elsewhere)'
                else route
            end as route
        from marts.upgrade_trigger_accounts
    )
    select trigger_name, route, count(*) as accounts
    from flags
    group by trigger_name, route
    order by trigger_name, route
"""

LIFT_SQL = """
    select
        programme, send_month, unit, window_days, treated_count, holdout_count, capped_count, excluded_count,
        treated_conversion_rate, holdout_conversion_rate, conversion_rate_difference, difference_ci_lower,
        difference_ci_upper, is_difference_significant, incremental_conversions, incremental_revenue_usd,
        incremental_mrr_usd, open_window_count, is_window_closed
    from marts.expansion_programme_lift
    order by programme, send_month
"""

"""A generated landing directory as its extracts would have stood day by day: for incremental refresh.

`generate` writes the whole history at once. A warehouse refreshed daily sees it arrive a day at a time:
`write_landing_as_of` writes the landing directory as it stood at the end of one day (orders, contacts and
customers known by then, usage up to then, subscription lines still open shown open), with the rows of every day
after `first_day` in a part file of their own (`part-d<YYYYMMDD>.parquet`, after the base `part-00000.parquet`
in path order), so that moving the day forward adds files the way a daily extract does. Subscription history is
one file rewritten each day (closing a line changes a row already delivered), and the small catalogue tables are
copied as they are. `hold_back` keeps some orders out of the days they were placed on and delivers them on a later
day (late-arriving orders), `cancel` adds a cancelled version of orders on a given day, `deactivate` switches
products off, `correct_quantity` corrects a subscription line's quantity back to its start, and `unsubscribe` adds a
version of contacts that unsubscribed on a given day (opted out at 09:00, known to the extract that day).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb

# table -> the moment a row becomes known to the extract
ARRIVAL = {
    "customers": "created_at",
    "contacts": "updated_at",
    "orders": "updated_at",
    "usage_events": "occurred_at",
    "fx_rates": "rate_date",
}
BASE_PART = "part-00000.parquet"


@dataclass(frozen=True)
class Changes:
    """Edits to the extract on top of the generated history (see the module docstring)."""

    hold_back: Mapping[str, date] = field(default_factory=dict)  # order_id -> the day it finally arrives
    cancel: Mapping[str, date] = field(default_factory=dict)  # order_id -> the day a cancelled version arrives
    deactivate: Mapping[str, date] = field(default_factory=dict)  # product_id -> the day it is switched off
    # item_id -> the day its quantity is corrected (doubled) for its whole history: a subscription changed in the past
    correct_quantity: Mapping[str, date] = field(default_factory=dict)
    unsubscribe: Mapping[str, date] = field(default_factory=dict)  # contact_id -> the day the contact opts out


def day_part(day: date) -> str:
    return f"part-d{day:%Y%m%d}.parquet"


def end_of(day: date) -> str:
    return f"timestamp '{day + timedelta(days=1):%Y-%m-%d} 00:00:00'"


def table_rows(source: Path, table: str) -> str:
    folder = source / table
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else [source / f"{table}.parquet"]
    return "read_parquet([" + ", ".join(f"'{path}'" for path in files) + "], union_by_name = true)"


def copy(con: duckdb.DuckDBPyConnection, sql: str, target: Path) -> None:
    """Write `sql` to `target`, leaving an identical file untouched (its modification time says it is unchanged)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fresh = target.with_name(target.name + ".new")
    con.execute(f"copy ({sql}) to '{fresh}' (format parquet, compression snappy)")
    if target.exists() and target.read_bytes() == fresh.read_bytes():
        fresh.unlink()
    else:
        fresh.replace(target)


def order_versions(source: Path, changes: Changes) -> str:
    """Every version of every order with the day it reaches the extract (held-back ones later, cancellations)."""
    held, cancelled = days_of(changes.hold_back, "order_id"), days_of(changes.cancel, "order_id")
    return f"""
        with versions as (select * from {table_rows(source, 'orders')}),
        held(order_id, day) as ({held}),
        cancelled(order_id, day) as ({cancelled}),
        latest as (
            select * from versions qualify row_number() over (partition by order_id order by updated_at desc) = 1
        )
        select versions.*, greatest(cast(versions.updated_at as date), coalesce(held.day, date '0001-01-01'))
            as _arrives
        from versions left join held using (order_id)
        union all by name
        select latest.* replace ('cancelled' as status, cast(null as timestamp) as delivered_at,
                                 cast(cancelled.day as timestamp) + interval 12 hour as updated_at),
            cancelled.day as _arrives
        from latest join cancelled using (order_id)
    """


def days_of(mapping: Mapping[str, date], key: str) -> str:
    """`(key, day)` rows of `mapping` as SQL, or one row of nulls when it is empty."""
    return " union all ".join(f"select '{item}' as {key}, date '{day}' as day"
                              for item, day in mapping.items()) or "select null, null"


def contact_versions(source: Path, changes: Changes) -> str:
    """Every version of every contact with the day it reaches the extract, and the unsubscribing versions."""
    return f"""
        with versions as (select * from {table_rows(source, 'contacts')}),
        unsubscribed(contact_id, day) as ({days_of(changes.unsubscribe, 'contact_id')}),
        latest as (
            select * from versions qualify row_number() over (partition by contact_id order by updated_at desc) = 1
        ),
        opted_out as (
            select latest.* replace (false as email_opt_in,
                                     cast(unsubscribed.day as timestamp) + interval 9 hour as unsubscribed_at,
                                     greatest(cast(unsubscribed.day as timestamp) + interval 9 hour,
                                              latest.updated_at + interval 1 minute) as updated_at)
            from latest join unsubscribed using (contact_id)
        )
        select *, cast(updated_at as date) as _arrives from versions
        union all by name
        select *, cast(updated_at as date) as _arrives from opted_out
    """


def arrivals(source: Path, table: str, changes: Changes) -> str:
    """The table's rows with `_arrives`, the day the extract first holds them."""
    if table == "orders":
        return order_versions(source, changes)
    if table == "contacts":
        return contact_versions(source, changes)
    if table == "order_items":
        first = f"select order_id, min(_arrives) as _arrives from ({order_versions(source, changes)}) group by all"
        return f"select items.*, first._arrives from {table_rows(source, table)} as items join ({first}) as first " \
               "using (order_id)"
    return f"select *, cast({ARRIVAL[table]} as date) as _arrives from {table_rows(source, table)}"


def write_day_split(con: duckdb.DuckDBPyConnection, source: Path, target: Path, table: str, first_day: date,
                    day: date, changes: Changes) -> None:
    """The base part (rows known by `first_day`) and one part per later day up to `day`, each written once."""
    rows = arrivals(source, table, changes)
    folder = target / table
    if not (folder / BASE_PART).exists():
        copy(con, f"select * exclude (_arrives) from ({rows}) where _arrives <= date '{first_day}'",
             folder / BASE_PART)
    current = first_day + timedelta(days=1)
    while current <= day:
        if not (folder / day_part(current)).exists():
            copy(con, f"select * exclude (_arrives) from ({rows}) where _arrives = date '{current}'",
                 folder / day_part(current))
        current += timedelta(days=1)


def write_subscriptions(con: duckdb.DuckDBPyConnection, source: Path, target: Path, day: date,
                        changes: Changes) -> None:
    """Subscription lines as known at the end of `day`: later lines left out, lines closed later still open, and
    the quantities corrected by then doubled."""
    end = end_of(day)
    corrected = ", ".join(f"'{item}'" for item, when in changes.correct_quantity.items() if when <= day) or "null"
    copy(con, f"""select * replace (case when valid_to >= {end} then null else valid_to end as valid_to,
                                    case when item_id in ({corrected}) then quantity * 2 else quantity end
                                        as quantity)
                  from {table_rows(source, 'subscription_items')} where valid_from < {end} order by item_id""",
         target / "subscription_items" / BASE_PART)


def write_products(con: duckdb.DuckDBPyConnection, source: Path, target: Path, day: date, changes: Changes) -> None:
    switched_off = [product for product, when in changes.deactivate.items() if when <= day]
    names = ", ".join(f"'{product}'" for product in switched_off) or "null"
    copy(con, f"select * replace (case when product_id in ({names}) then false else is_active end as is_active) "
              f"from {table_rows(source, 'products')} order by product_id", target / "products.parquet")


def write_landing_as_of(source: Path, target: Path, day: date, first_day: date | None = None,
                        changes: Changes | None = None, tables: Sequence[str] | None = None) -> None:
    """Write (or bring forward) `target` as the landing directory stood at the end of `day` (module docstring)."""
    changes = changes or Changes()
    first_day = first_day or day
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        for table in tables or ("customers", "contacts", "orders", "order_items", "usage_events"):
            write_day_split(con, source, target, table, first_day, day, changes)
        write_day_split(con, source, target, "fx_rates", first_day, day, changes)
        write_subscriptions(con, source, target, day, changes)
        write_products(con, source, target, day, changes)
        if not (target / "plans.parquet").exists():
            shutil.copy(source / "plans.parquet", target / "plans.parquet")
    finally:
        con.close()

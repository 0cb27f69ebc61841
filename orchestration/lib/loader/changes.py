"""What each load changed, by partition, for the incremental dbt models: `audit.changed_partitions`.

The dbt models that are incremental rebuild only the partitions a load touched: the days of `orders` and
`order_items` (by the order's `ordered_at`), the customers of `subscription_items` and `customers`, and the
(currency, month) pairs of `fx_rates`. An incremental load records the partitions of the rows it added and of
the versions it displaced; a full load compares a fingerprint of every partition before and after and records
those that differ (the first load of a table records `all`). A model keeps the highest load id it has seen and
rebuilds the partitions recorded after it.
"""

from __future__ import annotations

import duckdb

from orchestration.lib.contract import Table
from orchestration.lib.loader.sql import DUCKDB, Dialect, quote
from orchestration.lib.names import AUDIT_SCHEMA

CHANGES = f"{AUDIT_SCHEMA}.changed_partitions"

# table -> (kind, expression over the table's own columns, aliased `landing_row`; {month} is the dialect's month text)
PARTITIONS: dict[str, tuple[str, str]] = {
    "orders": ("day", "cast(landing_row.ordered_at as date)"),
    "order_items": ("day", "cast(parent.ordered_at as date)"),
    "subscription_items": ("customer", "landing_row.customer_id"),
    "customers": ("customer", "landing_row.customer_id"),
    "fx_rates": ("currency_month", "landing_row.currency || ':' || {month}"),
}
PARENT_JOIN = {"order_items": "join raw.orders as parent on parent.order_id = landing_row.order_id"}


def ensure_changes(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"""
        create table if not exists {CHANGES} (
            load_id bigint not null, table_name varchar not null, kind varchar not null, value varchar
        )""")


def partition_expression(table: Table, dialect: Dialect = DUCKDB) -> str:
    _, expression = PARTITIONS[table.name]
    return expression.format(month=dialect.month_text("landing_row.rate_date"))


def partition_values_sql(table: Table, rows: str, dialect: Dialect = DUCKDB) -> str:
    """The distinct partition values of `rows` (a relation with the table's columns)."""
    return f"select distinct cast({partition_expression(table, dialect)} as {dialect.text}) as value " \
           f"from {rows} as landing_row {PARENT_JOIN.get(table.name, '')}"


def fingerprint_sql(table: Table, relation: str, dialect: Dialect = DUCKDB) -> str:
    """Per partition of `relation`: how many rows and a sum of their hashes (equal sums: unchanged, to 1 in 2^64)."""
    value = f"cast({partition_expression(table, dialect)} as {dialect.text})"
    digest = dialect.hash_sum([f"landing_row.{quote(name)}" for name in table.column_names])
    return f"""select {value} as value, count(*) as rows,
                   {digest} as digest
               from {relation} as landing_row {PARENT_JOIN.get(table.name, '')} group by {value}"""


def record(con: duckdb.DuckDBPyConnection, load_id: int, table: Table, values_sql: str) -> int:
    """Record the partitions `values_sql` selects (a column `value`); how many."""
    kind, _ = PARTITIONS[table.name]
    con.execute(f"insert into {CHANGES} select ?, ?, ?, value from ({values_sql})", [load_id, table.name, kind])
    return con.execute(f"select count(*) from {CHANGES} where load_id = ? and table_name = ?",
                       [load_id, table.name]).fetchone()[0]


def record_all(con: duckdb.DuckDBPyConnection, load_id: int, table: Table) -> None:
    con.execute(f"insert into {CHANGES} values (?, ?, 'all', null)", [load_id, table.name])


def differing_partitions_sql(before: str, after: str) -> str:
    """The partition values whose row count or digest differs between two fingerprint tables."""
    return f"""select coalesce(after.value, before.value) as value
               from {quote(before)} as before full join {quote(after)} as after on before.value = after.value
               where before.value is null or after.value is null or before.rows <> after.rows
                   or before.digest <> after.digest"""

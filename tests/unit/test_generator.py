"""The sample-data generator: layout, determinism, scale, the contract's shape and the signals the marts need."""

from __future__ import annotations

import csv
import json
import re
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from orchestration.lib.contract import EMAIL_PATTERN, TABLE_NAMES, TABLES_BY_NAME, Rule
from orchestration.lib.generator import AWKWARD_NAMES, SMALL_TABLES, GenerationReport, generate

END = date(2026, 11, 22)
END_INSTANT = "timestamp '2026-11-23 00:00:00'"
CHUNKED = [name for name in TABLE_NAMES if name not in SMALL_TABLES]


def files_of(landing: Path, table: str) -> list[Path]:
    single = [landing / f"{table}.parquet", landing / f"{table}.csv"]
    found = [path for path in single if path.is_file()]
    folder = landing / table
    if folder.is_dir():
        found += sorted(path for path in folder.iterdir() if path.name != "part-dirty.csv")
    return found


def connect(landing: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB with one view per table over the clean files (dirty parts left out)."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    for table in TABLE_NAMES:
        files = files_of(landing, table)
        listing = "[" + ", ".join(f"'{path}'" for path in files) + "]"
        if files[0].suffix == ".parquet":
            con.execute(f"create view {table} as select * from read_parquet({listing})")
        else:
            con.execute(f"create view {table} as select * from read_csv({listing}, header = true, all_varchar = true)")
    return con


def scalar(con: duckdb.DuckDBPyConnection, sql: str):
    return con.execute(sql).fetchone()[0]


def tree(landing: Path) -> dict[str, bytes]:
    return {str(path.relative_to(landing)): path.read_bytes() for path in sorted(landing.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationReport]:
    landing = tmp_path_factory.mktemp("clean") / "raw"
    return landing, generate(landing, scale=0.05, seed=7, end_date=END)


@pytest.fixture(scope="module")
def con(clean: tuple[Path, GenerationReport]) -> duckdb.DuckDBPyConnection:
    return connect(clean[0])


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationReport]:
    landing = tmp_path_factory.mktemp("dirty") / "raw"
    return landing, generate(landing, scale=0.02, seed=3, dirty=True, end_date=END)


# --- layout, determinism, size ---------------------------------------------------------------------------------


def test_layout_and_report_file(clean: tuple[Path, GenerationReport]) -> None:
    landing, report = clean
    for table in SMALL_TABLES:
        assert (landing / f"{table}.parquet").is_file()
        assert not (landing / table).exists()
    for table in CHUNKED:
        assert sorted(path.name for path in (landing / table).iterdir()) == ["part-00000.parquet"]
    assert report.end_date == END and report.out_dir == landing and report.seconds > 0
    assert report.planted == {}
    written = json.loads((landing / "_generation.json").read_text(encoding="utf-8"))
    assert written["rows"] == report.rows
    assert written["superseded"] == report.superseded
    assert written["end_date"] == "2026-11-22" and written["seed"] == 7 and written["dirty"] is False
    for table in TABLE_NAMES:  # the report counts what is in the files
        rows = sum(pq.read_metadata(path).num_rows for path in files_of(landing, table))
        assert rows == report.rows[table], table


def test_same_inputs_give_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", scale=0.02, seed=1, dirty=True, end_date=END)
    second = generate(tmp_path / "b", scale=0.02, seed=1, dirty=True, end_date=END)
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    assert first.rows == second.rows and first.planted == second.planted
    generate(tmp_path / "c", scale=0.02, seed=2, dirty=True, end_date=END)
    other = tree(tmp_path / "c")
    assert other.keys() == tree(tmp_path / "a").keys()
    for table in CHUNKED:
        assert other[f"{table}/part-00000.parquet"] != tree(tmp_path / "a")[f"{table}/part-00000.parquet"], table


def test_row_counts_grow_linearly_with_scale(tmp_path: Path, clean: tuple[Path, GenerationReport]) -> None:
    small = generate(tmp_path / "small", scale=0.02, seed=7, end_date=END).rows
    large = clean[1].rows  # scale 0.05
    assert large["customers"] == 500 and small["customers"] == 200
    for table in SMALL_TABLES:
        assert small[table] == large[table]
    for table in CHUNKED:
        assert 2.5 * 0.8 < large[table] / small[table] < 2.5 * 1.2, table
    # scale 1 is ~10k customers, ~40k orders, ~100k order lines, ~1M usage events
    orders = large["orders"] - clean[1].superseded["orders"]
    assert 0.85 * 2_000 < orders < 1.15 * 2_000
    assert 0.85 * 5_000 < large["order_items"] < 1.15 * 5_000
    assert 0.8 * 50_000 < large["usage_events"] < 1.2 * 50_000
    assert 250 < large["products"] < 350 and large["plans"] == 11


def test_output_directory_is_replaced(tmp_path: Path) -> None:
    landing = tmp_path / "raw"
    generate(landing, scale=0.02, seed=1, dirty=True, end_date=END)
    assert (landing / "orders" / "part-dirty.csv").is_file() and (landing / "plans").is_dir()
    (landing / "notes.txt").write_text("keep me", encoding="utf-8")
    calls: list[tuple[str, int]] = []
    report = generate(landing, scale=0.02, seed=1, end_date=END,
                      progress=lambda table, rows: calls.append((table, rows)))
    assert not (landing / "orders" / "part-dirty.csv").exists()
    assert not (landing / "plans").exists() and (landing / "plans.parquet").is_file()
    assert (landing / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert {table for table, _ in calls} == set(TABLE_NAMES)
    assert dict(calls) == report.rows  # the last call per table carries its total


def test_fractional_and_tiny_scales_work(tmp_path: Path) -> None:
    report = generate(tmp_path / "tiny", scale=0.0003, seed=5, dirty=True, end_date=END)
    assert report.rows["customers"] >= 3
    with pytest.raises(ValueError, match="fmt"):
        generate(tmp_path / "x", scale=0.02, fmt="json", end_date=END)


# --- the contract's shape ----------------------------------------------------------------------------------------


def test_every_table_has_exactly_the_contract_columns_and_types(con: duckdb.DuckDBPyConnection) -> None:
    types = {"VARCHAR": "VARCHAR", "DATE": "DATE", "INTEGER": "INTEGER", "BIGINT": "BIGINT", "DOUBLE": "DOUBLE",
             "BOOLEAN": "BOOLEAN", "TIMESTAMP": "TIMESTAMP", "DECIMAL(18,4)": "DECIMAL(18,4)",
             "DECIMAL(18,8)": "DECIMAL(18,8)"}
    for table in TABLE_NAMES:
        described = [(name, type_) for name, type_, *_ in con.execute(f"describe {table}").fetchall()]
        expected = [(column.name, types[column.type]) for column in TABLES_BY_NAME[table].columns]
        assert described == expected, table


def test_keys_are_unique_and_ids_short(con: duckdb.DuckDBPyConnection) -> None:
    for table in TABLE_NAMES:
        spec = TABLES_BY_NAME[table]
        key = ", ".join(spec.key + ((spec.versioned_by,) if spec.versioned_by else ()))  # versions share a key
        distinct_keys = scalar(con, f"select count(*) from (select distinct {key} from {table})")
        assert scalar(con, f"select count(*) from {table}") == distinct_keys, table
    for table, column, prefix in [("customers", "customer_id", "cus_"), ("contacts", "contact_id", "ct_"),
                                  ("orders", "order_id", "ord_"), ("products", "product_id", "prd_"),
                                  ("subscription_items", "item_id", "si_"),
                                  ("subscription_items", "subscription_id", "sub_"),
                                  ("usage_events", "event_id", "ev_")]:
        assert scalar(con, f"select bool_and(starts_with({column}, '{prefix}') and length({column}) <= 12) "
                           f"from {table}"), (table, column)


def test_clean_output_is_referentially_intact(con: duckdb.DuckDBPyConnection) -> None:
    orphans = {
        "contacts": "select count(*) from contacts anti join customers using (customer_id)",
        "orders": "select count(*) from orders anti join customers using (customer_id)",
        "items→orders": "select count(*) from order_items anti join orders using (order_id)",
        "items→products": "select count(*) from order_items anti join products using (product_id)",
        "subscriptions": "select count(*) from subscription_items anti join customers using (customer_id)",
        "plan rows": "select count(*) from subscription_items s where kind = 'plan' "
                     "and (product_id is not null or plan_id not in (select plan_id from plans))",
        "addon rows": "select count(*) from subscription_items s where kind = 'addon' and (plan_id is not null "
                      "or product_id not in (select product_id from products where category = 'Add-ons'))",
        "usage": "select count(*) from usage_events anti join customers using (customer_id)",
        "currencies": "select count(*) from (select currency from orders union all select currency from products "
                      "union all select currency from subscription_items) where currency <> 'USD' "
                      "and currency not in (select currency from fx_rates)",
    }
    assert {name: scalar(con, sql) for name, sql in orphans.items()} == dict.fromkeys(orphans, 0)
    assert scalar(con, "select count(*) from orders") > 0 and scalar(con, "select count(*) from usage_events") > 0


def test_awkward_names_are_present(con: duckdb.DuckDBPyConnection) -> None:
    names = {row[0] for row in con.execute("select name from customers").fetchall()}
    assert {name for name, _, _ in AWKWARD_NAMES} <= names
    assert "O'Brien, \"Quotes\" & Co" in names and "Robert'); DROP TABLE customers;--" in names
    assert "株式会社テスト" in names and "Zoë Café GmbH" in names


# --- realism ---------------------------------------------------------------------------------------------------


def test_customers_segments_countries_and_creation(con: duckdb.DuckDBPyConnection) -> None:
    shares = dict(con.execute("select segment, count(*) / sum(count(*)) over () from customers group by 1").fetchall())
    assert shares.keys() == {"smb", "mid_market", "enterprise"} and 0.6 < shares["smb"] < 0.8
    assert {row[0] for row in con.execute("select distinct country from customers").fetchall()} == {
        "US", "GB", "DE", "FR", "NL", "ES", "CA", "AU", "JP"}
    oldest, newest, recent = con.execute(
        f"select min(created_at), max(created_at), count(*) filter (created_at >= {END_INSTANT} - interval 14 day) "
        "from customers").fetchone()
    assert oldest >= datetime(2023, 11, 23) and newest.date() <= END
    assert recent > 0


def test_contacts_one_primary_each_and_consent_rules(con: duckdb.DuckDBPyConnection) -> None:
    latest = "(select * from contacts qualify row_number() over (partition by contact_id order by updated_at desc) = 1)"
    primaries = con.execute(f"""
        select count(*), min(primaries), max(primaries)
        from (select customer_id, count(*) filter (is_primary) as primaries from {latest} group by 1)
    """).fetchone()
    assert primaries == (scalar(con, "select count(*) from customers"), 1, 1)
    assert scalar(con, f"select count(*) from {latest} where unsubscribed_at is not null and email_opt_in") == 0
    assert scalar(con, f"select count(*) from {latest} where unsubscribed_at is not null") > 0
    opt_in = scalar(con, f"select avg(email_opt_in::int) from {latest}")
    assert 0.5 < opt_in < 0.75
    emails = [row[0] for row in con.execute("select email from contacts").fetchall()]
    assert all(re.fullmatch(EMAIL_PATTERN, email) for email in emails)


@pytest.mark.parametrize("table", ["contacts", "orders"])
def test_older_versions_are_strictly_older(con: duckdb.DuckDBPyConnection, clean: tuple[Path, GenerationReport],
                                           table: str) -> None:
    key = TABLES_BY_NAME[table].key[0]
    older, ties = con.execute(f"""
        with versions as (
            select {key}, updated_at, max(updated_at) over (partition by {key}) as latest,
                count(*) over (partition by {key}, updated_at) as same_instant
            from {table}
        )
        select count(*) filter (updated_at < latest), count(*) filter (same_instant > 1) from versions
    """).fetchone()
    assert older == clean[1].superseded[table] > 0
    assert ties == 0
    if table == "orders":
        assert scalar(con, """
            select count(*) from orders o
            where updated_at < (select max(updated_at) from orders l where l.order_id = o.order_id)
              and (status <> 'placed' or delivered_at is not null or updated_at <> ordered_at)
        """) == 0


def test_orders_statuses_deliveries_and_prices(con: duckdb.DuckDBPyConnection) -> None:
    latest = "(select * from orders qualify row_number() over (partition by order_id order by updated_at desc) = 1)"
    shares = dict(con.execute(f"select status, count(*) / sum(count(*)) over () from {latest} group by 1").fetchall())
    assert shares["delivered"] > 0.8 and 0.02 < shares["cancelled"] < 0.07 and 0.01 < shares["returned"] < 0.06
    assert scalar(con, f"""select count(*) from {latest}
        where (delivered_at is not null) <> (status in ('delivered', 'returned'))
           or delivered_at < ordered_at or updated_at < ordered_at or ordered_at >= {END_INSTANT}""") == 0
    # orders delivered 24-48 h before the end of end_date (the cross-sell send window)
    assert scalar(con, f"""select count(*) from {latest} where status = 'delivered'
        and delivered_at between {END_INSTANT} - interval 48 hour and {END_INSTANT} - interval 24 hour""") >= 3
    assert scalar(con, "select count(*) from orders o join customers c using (customer_id) "
                       "where o.currency <> case c.country when 'US' then 'USD' when 'GB' then 'GBP' "
                       "when 'CA' then 'CAD' when 'AU' then 'AUD' when 'JP' then 'JPY' else 'EUR' end") == 0
    lines = scalar(con, "select count(*) / count(distinct order_id) from order_items")
    assert 2.2 < lines < 2.8
    assert scalar(con, "select count(*) from (select order_id from order_items group by order_id, product_id "
                       "having count(*) > 1)") > 0
    # USD lines of USD-priced products sell at list price
    assert scalar(con, "select count(*) from order_items i join orders o using (order_id) join products p "
                       "using (product_id) where o.currency = 'USD' and p.currency = 'USD' "
                       "and i.unit_price <> p.list_price") == 0


def test_tiered_products_have_planted_partners(con: duckdb.DuckDBPyConnection) -> None:
    assert scalar(con, "select count(distinct family) from products where tier is not null") == 20
    assert scalar(con, "select count(*) from products where category = 'Add-ons'") == 6
    assert 0.02 < scalar(con, "select avg((not is_active)::int) from products") < 0.08
    # the best partner of a frequently bought tiered product shares many of its orders
    confidences = [row[0] for row in con.execute("""
        with baskets as (select distinct order_id, product_id from order_items),
        tiered as (select b.product_id, count(*) as orders from baskets b join products p using (product_id)
                   where p.tier is not null group by 1 having count(*) >= 40),
        pairs as (select a.product_id, b.product_id as partner, count(*) as together from baskets a
                  join baskets b on a.order_id = b.order_id and a.product_id <> b.product_id group by 1, 2)
        select max(together / orders) from tiered join pairs using (product_id) group by product_id
    """).fetchall()]
    assert confidences and min(confidences) > 0.2


def test_plan_ladder_features_are_cumulative(con: duckdb.DuckDBPyConnection) -> None:
    plans = con.execute("select family, tier, billing_period, price, per_seat, seat_limit, features, plan_id "
                        "from plans order by family, billing_period, tier").fetchall()
    ladders: dict[tuple[str, str], list[tuple]] = {}
    for plan in plans:
        ladders.setdefault((plan[0], plan[2]), []).append(plan)
    assert set(ladders) == {("Workspace", "month"), ("Workspace", "year"), ("Insights", "month")}
    for (family, _period), ladder in ladders.items():
        assert [plan[1] for plan in ladder] == list(range(1, len(ladder) + 1))
        for lower, higher in pairwise(ladder):
            assert set(lower[6].split(";")) < set(higher[6].split(";")), (lower[7], higher[7])
            assert higher[3] > lower[3]
        assert ladder[-1][5] is None  # the top tier is unlimited
        assert all(plan[4] == (family == "Workspace") for plan in ladder)
    monthly = {plan[1]: plan[3] for plan in ladders[("Workspace", "month")]}
    yearly = {plan[1]: plan[3] for plan in ladders[("Workspace", "year")]}
    assert monthly == {1: 8, 2: 15, 3: 30, 4: 60} and yearly == {tier: 10 * price for tier, price in monthly.items()}
    assert ladders[("Workspace", "month")][0][6] == "core;chat"


def test_subscription_histories_are_consistent(con: duckdb.DuckDBPyConnection) -> None:
    problems = con.execute("""
        with plan_rows as (
            select s.*, p.billing_period as plan_period, p.seat_limit, p.per_seat,
                lag(valid_to) over (partition by subscription_id order by valid_from) as previous_to,
                lag(valid_from) over (partition by subscription_id order by valid_from) as previous_from
            from subscription_items s join plans p using (plan_id) where kind = 'plan'
        )
        select
            count(*) filter (valid_to is not null and valid_to <= valid_from),
            count(*) filter (previous_from is not null and (previous_to is null or previous_to > valid_from)),
            count(*) filter (billing_period <> plan_period),
            count(*) filter (per_seat and quantity > seat_limit),
            count(*) filter (valid_from >= timestamp '2026-11-23')
        from plan_rows
    """).fetchone()
    assert problems == (0, 0, 0, 0, 0)
    statuses = {row[0] for row in con.execute("select distinct status from subscription_items").fetchall()}
    assert statuses == {"trialing", "active", "paused", "canceled"}
    subscribers = scalar(con, "select count(distinct customer_id) / (select count(*) from customers) "
                              "from subscription_items")
    assert 0.78 < subscribers < 0.92
    assert scalar(con, "select count(*) from subscription_items where valid_from = date_trunc('month', valid_from)") > 0
    assert scalar(con, "select count(distinct subscription_id) from subscription_items where kind = 'addon'") > 0
    # upgrades within a family
    assert scalar(con, """select count(*) from (
        select p.tier > lag(p.tier) over (partition by s.subscription_id order by s.valid_from) as up
        from subscription_items s join plans p using (plan_id)) where up""") > 0


def test_usage_signals(con: duckdb.DuckDBPyConnection) -> None:
    metrics = dict(con.execute("select metric, count(*) from usage_events group by 1").fetchall())
    assert metrics.keys() == {"active_seats", "storage_gb", "api_calls", "feature_blocked"}
    assert metrics["api_calls"] > metrics["active_seats"] > metrics["feature_blocked"] > 0
    current = """(select customer_id, plan_id from subscription_items
                  where kind = 'plan' and valid_to is null and status in ('active', 'trialing'))"""
    assert con.execute(f"""
        select
            count(*) filter (metric = 'active_seats' and value > p.seat_limit),
            count(*) filter ((metric = 'feature_blocked') <> (feature is not null)),
            count(*) filter (metric = 'feature_blocked' and list_contains(string_split(p.features, ';'), feature)),
            count(*) filter (occurred_at >= {END_INSTANT} or occurred_at < {END_INSTANT} - interval 90 day),
            count(*) filter (value < 0)
        from usage_events u join {current} using (customer_id) join plans p using (plan_id)
    """).fetchone() == (0, 0, 0, 0, 0)
    assert scalar(con, f"select count(*) from usage_events anti join {current} using (customer_id)") == 0
    near_limit = scalar(con, f"""
        with last_seats as (select customer_id, arg_max(value, occurred_at) as seats from usage_events
                            where metric = 'active_seats' group by 1)
        select count(*) from last_seats join {current} using (customer_id) join plans p using (plan_id)
        where seats >= 0.9 * p.seat_limit""")
    assert near_limit > 0


# --- CSV and dirty output --------------------------------------------------------------------------------------


def test_csv_output_holds_the_same_rows_as_parquet(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    landing = tmp_path / "csv"
    report = generate(landing, scale=0.05, seed=7, end_date=END, fmt="csv")
    assert (landing / "plans.csv").is_file() and (landing / "orders" / "part-00000.csv").is_file()
    for table in TABLE_NAMES:
        with files_of(landing, table)[0].open(encoding="utf-8", newline="") as handle:
            assert next(csv.reader(handle)) == list(TABLES_BY_NAME[table].column_names), table
    text = connect(landing)
    stamps = [row[0] for row in text.execute("select ordered_at from orders").fetchall()]
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|\+02:00)", stamp) for stamp in stamps)
    assert any(stamp.endswith("+02:00") for stamp in stamps)
    assert {row[0] for row in text.execute("select distinct is_primary from contacts").fetchall()} == {"true", "false"}
    parsed = set(text.execute("select order_id, cast(cast(ordered_at as timestamptz) as timestamp), status "
                              "from orders").fetchall())
    assert parsed == set(con.execute("select order_id, ordered_at, status from orders").fetchall())
    assert report.rows["order_items"] == scalar(con, "select count(*) from order_items")


def test_dirty_parts_hold_exactly_the_planted_rows(dirty: tuple[Path, GenerationReport]) -> None:
    landing, report = dirty
    clean_con = connect(landing)
    for table in TABLE_NAMES:
        assert (landing / table).is_dir(), table
        part = landing / table / "part-dirty.csv"
        with part.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert list(rows[0]) == list(TABLES_BY_NAME[table].column_names)
        planted = report.planted[table]
        assert sum(planted.values()) == len(rows), table
        assert all(3 <= count <= 14 for count in planted.values()), (table, planted)
        assert set(planted) <= {rule.value for rule in Rule}
        clean_rows = scalar(clean_con, f"select count(*) from {table}")
        assert report.rows[table] == clean_rows + len(rows), table
    expected_rules = {
        "contacts": {"malformed_email", "missing_value", "unknown_reference", "conflicting_version",
                     "invalid_boolean"},
        "orders": {"unknown_currency", "unparseable_timestamp", "unknown_reference", "invalid_enum", "invalid_range",
                   "conflicting_version"},
        "order_items": {"negative_value", "invalid_number", "unknown_reference", "repeated_key"},
        "usage_events": {"missing_key", "missing_value", "invalid_enum", "negative_value", "unknown_reference",
                         "repeated_key", "unparseable_timestamp"},
        "fx_rates": {"missing_key", "invalid_number", "negative_value", "repeated_key", "unparseable_timestamp"},
    }
    for table, rules in expected_rules.items():
        assert rules <= set(report.planted[table]), table


def test_planted_repeats_reuse_existing_keys_and_planted_keys_are_never_referenced(
        dirty: tuple[Path, GenerationReport]) -> None:
    landing, report = dirty
    con = connect(landing)
    for table in TABLE_NAMES:
        con.execute(f"create view dirty_{table} as select * from read_csv('{landing / table / 'part-dirty.csv'}', "
                    "header = true, all_varchar = true)")
    # repeated keys and conflicting versions reuse clean keys; every other planted key is new
    for table in TABLE_NAMES:
        key = TABLES_BY_NAME[table].key
        match = " and ".join(f"d.{column} = cast(c.{column} as varchar)" for column in key)
        seen = scalar(con, f"select count(*) from dirty_{table} d where exists (select 1 from {table} c where {match})")
        reused = sum(count for rule, count in report.planted[table].items()
                     if rule in (Rule.REPEATED_KEY, Rule.CONFLICTING_VERSION))
        assert seen == reused, table
    # no clean row refers to a key that only a planted row has
    new_keys = {
        ("orders", "customer_id"): "select customer_id from dirty_customers except select customer_id from customers",
        ("contacts", "customer_id"): "select customer_id from dirty_customers except select customer_id from customers",
        ("order_items", "order_id"): "select order_id from dirty_orders except select order_id from orders",
        ("order_items", "product_id"): "select product_id from dirty_products except select product_id from products",
        ("subscription_items", "plan_id"): "select plan_id from dirty_plans except select plan_id from plans",
    }
    for (table, column), planted_only in new_keys.items():
        assert scalar(con, f"select count(*) from ({planted_only})") > 0
        assert scalar(con, f"select count(*) from {table} where {column} in ({planted_only})") == 0, table

"""The loader's contract rules, on small hand-written landing directories."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration.lib.contract import TABLES, TABLES_BY_NAME
from orchestration.lib.loader import LandingError, load_table

# A minimal valid landing directory: one header and a few rows per table, as text.
VALID: dict[str, list[dict[str, str]]] = {
    "fx_rates": [
        {"currency": "EUR", "rate_date": "2026-01-01", "usd_per_unit": "1.10"},
        {"currency": "GBP", "rate_date": "2026-01-01", "usd_per_unit": "1.25"},
    ],
    "customers": [
        {"customer_id": "c1", "name": "Acme", "email_domain": "acme.com", "segment": "smb", "country": "US",
         "created_at": "2025-01-01T00:00:00Z"},
        {"customer_id": "c2", "name": "Beta", "email_domain": "beta.de", "segment": "enterprise", "country": "DE",
         "created_at": "2025-02-01T12:00:00+02:00"},
    ],
    "products": [
        {"product_id": "p1", "sku": "S1", "name": "Camera", "category": "Cameras", "family": "Cam", "tier": "1",
         "list_price": "100", "currency": "USD", "is_active": "true"},
        {"product_id": "p2", "sku": "S2", "name": "Card", "category": "Cards", "family": "Cards", "tier": "",
         "list_price": "10", "currency": "EUR", "is_active": "false"},
    ],
    "plans": [
        {"plan_id": "pl1", "name": "Starter", "family": "W", "tier": "1", "billing_period": "month", "price": "8",
         "per_seat": "true", "currency": "USD", "seat_limit": "10", "storage_limit_gb": "100",
         "api_calls_limit": "10000", "features": "core;chat"},
    ],
    "contacts": [
        {"contact_id": "k1", "customer_id": "c1", "email": "ann@acme.com", "first_name": "Ann", "is_primary": "true",
         "email_opt_in": "true", "unsubscribed_at": "", "updated_at": "2026-01-01T00:00:00Z"},
    ],
    "orders": [
        {"order_id": "o1", "customer_id": "c1", "ordered_at": "2026-11-01T10:00:00Z", "status": "delivered",
         "delivered_at": "2026-11-03T10:00:00Z", "currency": "USD", "updated_at": "2026-11-03T10:00:00Z"},
    ],
    "order_items": [
        {"order_id": "o1", "line_number": "1", "product_id": "p1", "quantity": "1", "unit_price": "100",
         "discount": "0"},
        {"order_id": "o1", "line_number": "2", "product_id": "p2", "quantity": "2", "unit_price": "10",
         "discount": ""},
    ],
    "subscription_items": [
        {"item_id": "s1", "subscription_id": "sub1", "customer_id": "c1", "kind": "plan", "plan_id": "pl1",
         "product_id": "", "quantity": "3", "unit_price": "8", "billing_period": "month", "currency": "USD",
         "status": "active", "valid_from": "2026-01-01T00:00:00Z", "valid_to": ""},
    ],
    "usage_events": [
        {"event_id": "e1", "customer_id": "c1", "occurred_at": "2026-11-01T00:00:00Z", "metric": "active_seats",
         "value": "3", "feature": ""},
    ],
}


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = columns or list(rows[0])
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def landing_with(tmp_path: Path, **extra_rows: list[dict[str, str]]) -> Path:
    """The valid landing directory plus extra rows appended to the named tables."""
    landing = tmp_path / "landing"
    for table, rows in VALID.items():
        write_csv(landing / f"{table}.csv", rows + extra_rows.get(table, []), list(rows[0]))
    return landing


def with_changes(table: str, index: int = 0, **changes: str) -> dict[str, str]:
    return {**VALID[table][index], **changes}


def load(landing: Path, warehouse: Path | None = None, full_refresh: bool = False,
         ) -> tuple[duckdb.DuckDBPyConnection, dict]:
    """Every table, in contract order, through `load_table`: what each raw asset of the load job calls."""
    con = duckdb.connect(str(warehouse) if warehouse else ":memory:")
    results = {table.name: load_table(con, landing, table, full_refresh=full_refresh) for table in TABLES}
    return con, results


def quarantined(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return con.execute(f"select _rule, _column from quarantine.{table} order by _source_row").fetchall()


def test_valid_landing_loads_everything(tmp_path: Path) -> None:
    con, results = load(landing_with(tmp_path))
    for table, rows in VALID.items():
        assert results[table].rows_loaded == len(rows), table
        assert results[table].rows_quarantined == 0, table
        assert results[table].reconciles
    # Types are the contract's, timestamps with an offset are converted to UTC, empty defaults apply.
    created = con.execute("select created_at from raw.customers where customer_id = 'c2'").fetchone()[0]
    assert str(created) == "2025-02-01 10:00:00"
    assert con.execute("select discount from raw.order_items where line_number = 2").fetchone()[0] == 0
    types = dict(con.execute("select column_name, data_type from information_schema.columns "
                             "where table_schema = 'raw' and table_name = 'plans'").fetchall())
    assert types["seat_limit"] == "INTEGER" and types["price"] == "DECIMAL(18,4)" and types["per_seat"] == "BOOLEAN"


PLANTED = [
    ("customers", with_changes("customers", customer_id=""), "missing_key", "customer_id"),
    ("customers", with_changes("customers", customer_id="c9", segment="huge"), "invalid_enum", "segment"),
    ("customers", with_changes("customers", customer_id="c9", country="Germany"), "invalid_country", "country"),
    ("customers", with_changes("customers", customer_id="c9", created_at="31/02/2024"),
     "unparseable_timestamp", "created_at"),
    ("customers", with_changes("customers", name="Acme again"), "repeated_key", "customer_id"),
    ("fx_rates", with_changes("fx_rates", usd_per_unit="abc", rate_date="2026-01-02"), "invalid_number",
     "usd_per_unit"),
    ("fx_rates", with_changes("fx_rates", usd_per_unit="-1", rate_date="2026-01-02"), "negative_value",
     "usd_per_unit"),
    ("products", with_changes("products", product_id="p9", currency="XYZ"), "unknown_currency", "currency"),
    ("products", with_changes("products", product_id="p9", is_active="maybe"), "invalid_boolean", "is_active"),
    ("plans", with_changes("plans", plan_id="pl9", billing_period="weekly"), "invalid_enum", "billing_period"),
    ("plans", with_changes("plans", plan_id="pl9", seat_limit="ten"), "invalid_number", "seat_limit"),
    ("contacts", with_changes("contacts", contact_id="k9", email="bob at acme.com"), "malformed_email", "email"),
    ("contacts", with_changes("contacts", contact_id="k9", email=""), "missing_value", "email"),
    ("contacts", with_changes("contacts", contact_id="k9", customer_id="c404"), "unknown_reference", "customer_id"),
    ("contacts", with_changes("contacts", email="other@acme.com"), "conflicting_version", "contact_id"),
    # A column with a default (empty means false) still rejects a value that is not a boolean.
    ("contacts", with_changes("contacts", contact_id="k9", email_opt_in="maybe"), "invalid_boolean", "email_opt_in"),
    ("orders", with_changes("orders", order_id="o9", currency="XYZ"), "unknown_currency", "currency"),
    ("orders", with_changes("orders", order_id="o9", status="lost"), "invalid_enum", "status"),
    ("orders", with_changes("orders", order_id="o9", delivered_at="2026-10-01T00:00:00Z"), "invalid_range",
     "delivered_at"),
    ("order_items", with_changes("order_items", line_number="9", quantity="-1"), "negative_value", "quantity"),
    ("order_items", with_changes("order_items", line_number="9", quantity="2.5"), "invalid_number", "quantity"),
    ("order_items", with_changes("order_items", order_id="o404"), "unknown_reference", "order_id"),
    ("order_items", with_changes("order_items", line_number="9", product_id="p404"), "unknown_reference",
     "product_id"),
    ("order_items", with_changes("order_items", unit_price="99"), "repeated_key", "order_id, line_number"),
    ("subscription_items", with_changes("subscription_items", item_id="s9", plan_id=""), "missing_value", "plan_id"),
    ("subscription_items", with_changes("subscription_items", item_id="s9", plan_id="no-such-plan"),
     "unknown_reference", "plan_id"),
    ("subscription_items", with_changes("subscription_items", item_id="s9", valid_to="2025-01-01T00:00:00Z"),
     "invalid_range", "valid_to"),
    ("subscription_items", with_changes("subscription_items", item_id="s9", status="expired"), "invalid_enum",
     "status"),
    ("usage_events", with_changes("usage_events", event_id="e9", metric="feature_blocked"), "missing_value",
     "feature"),
    ("usage_events", with_changes("usage_events", event_id="e9", metric="cpu"), "invalid_enum", "metric"),
    ("usage_events", with_changes("usage_events", event_id="e9", value="-3"), "negative_value", "value"),
]


@pytest.mark.parametrize(("table", "row", "rule", "column"), PLANTED,
                         ids=[f"{table}-{rule}-{column}" for table, _, rule, column in PLANTED])
def test_each_contract_break_is_quarantined_with_its_rule(tmp_path: Path, table: str, row: dict, rule: str,
                                                          column: str) -> None:
    con, results = load(landing_with(tmp_path, **{table: [row]}))
    assert quarantined(con, table) == [(rule, column)]
    result = results[table]
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (
        len(VALID[table]) + 1, len(VALID[table]), 1)
    # The original text is kept, with the file it came from.
    source = con.execute(f"select _source_file, _source_row from quarantine.{table}").fetchone()
    assert source == (str(tmp_path / "landing" / f"{table}.csv"), len(VALID[table]) + 1)


def test_latest_version_wins_and_older_versions_are_superseded(tmp_path: Path) -> None:
    older = with_changes("orders", status="placed", delivered_at="", updated_at="2026-11-01T10:00:00Z")
    exact_copy = dict(VALID["orders"][0])
    con, results = load(landing_with(tmp_path, orders=[older, exact_copy]))
    assert con.execute("select status from raw.orders").fetchall() == [("delivered",)]
    assert (results["orders"].rows_loaded, results["orders"].rows_superseded,
            results["orders"].rows_quarantined) == (1, 2, 0)
    assert con.execute("select count(*) from superseded.orders").fetchone()[0] == 2
    # A newer version arriving in a later file replaces the one loaded before.
    newer = with_changes("orders", status="returned", updated_at="2026-11-10T00:00:00Z")
    write_csv(tmp_path / "landing" / "orders" / "part-2.csv", [newer])
    (tmp_path / "landing" / "orders" / "part-1.csv").write_bytes((tmp_path / "landing" / "orders.csv").read_bytes())
    (tmp_path / "landing" / "orders.csv").unlink()
    con, results = load(tmp_path / "landing")
    assert con.execute("select status from raw.orders").fetchall() == [("returned",)]
    assert results["orders"].rows_superseded == 3


def test_loading_the_same_files_twice_changes_nothing(tmp_path: Path) -> None:
    landing = landing_with(tmp_path, customers=[with_changes("customers", customer_id="c9", segment="huge")])
    warehouse = tmp_path / "w.duckdb"
    con, first = load(landing, warehouse)
    snapshot = {t.name: sorted(con.execute(f"select * from raw.{t.name}").fetchall(), key=repr) for t in TABLES}
    quarantine = con.execute("select * from quarantine.customers").fetchall()
    con.close()
    con, second = load(landing, warehouse)
    # nothing new: every table is left as it is, and says so
    assert {result.mode for result in second.values()} == {"unchanged"}
    assert all(result.rows_read == 0 and result.reconciles for result in second.values())
    assert {t.name: sorted(con.execute(f"select * from raw.{t.name}").fetchall(), key=repr) for t in TABLES} \
        == snapshot
    con.close()
    # a full refresh reads everything again and ends with the same tables and counts
    con, third = load(landing, warehouse, full_refresh=True)
    assert {t.name: sorted(con.execute(f"select * from raw.{t.name}").fetchall(), key=repr) for t in TABLES} \
        == snapshot
    assert con.execute("select * from quarantine.customers").fetchall() == quarantine
    assert [(r.rows_read, r.rows_loaded) for r in first.values()] == [(r.rows_read, r.rows_loaded)
                                                                      for r in third.values()]
    counts = con.execute("select rows_read, rows_loaded, rows_quarantined from audit.load_counts "
                         "where table_name = 'customers'").fetchall()
    assert counts == [(3, 2, 1)]


def test_awkward_but_valid_values_load_intact(tmp_path: Path) -> None:
    names = ["O'Brien, \"Quotes\" & Co", "Robert'); DROP TABLE customers;--", "Zoë Café GmbH", "株式会社テスト",
             "line\nbreak"]
    rows = [with_changes("customers", customer_id=f"x{i}", name=name) for i, name in enumerate(names)]
    con, results = load(landing_with(tmp_path, customers=rows))
    loaded = {row[0] for row in con.execute("select name from raw.customers").fetchall()}
    assert set(names) <= loaded
    assert results["customers"].rows_quarantined == 0


def test_parquet_parts_with_native_types_and_extra_columns(tmp_path: Path) -> None:
    landing = landing_with(tmp_path)
    (landing / "usage_events.csv").unlink()
    table = pa.table({
        "event_id": ["e1", "e2"], "customer_id": ["c1", "c1"],
        "occurred_at": pa.array([1_767_225_600_000_000, 1_767_312_000_000_000], pa.timestamp("us")),
        "metric": ["api_calls", "feature_blocked"], "value": [120.0, 1.0], "feature": [None, "sso"],
        "source_system": ["app", "app"],
    })
    (landing / "usage_events").mkdir()
    pq.write_table(table, landing / "usage_events" / "part-0.parquet")
    write_csv(landing / "usage_events" / "part-1.csv", [with_changes("usage_events", event_id="e3")])
    con, results = load(landing)
    assert results["usage_events"].rows_loaded == 3
    rows = con.execute("select event_id, occurred_at::varchar, source_system from raw.usage_events "
                       "order by event_id").fetchall()
    assert rows == [("e1", "2026-01-01 00:00:00", "app"), ("e2", "2026-01-02 00:00:00", "app"),
                    ("e3", "2026-11-01 00:00:00", None)]


def test_missing_table_names_it(tmp_path: Path) -> None:
    landing = landing_with(tmp_path)
    (landing / "plans.csv").unlink()
    with pytest.raises(LandingError, match=r"has no plans table: expected plans.csv, plans.parquet or a folder"):
        load(landing)


def test_missing_column_names_the_file_and_column(tmp_path: Path) -> None:
    landing = landing_with(tmp_path)
    rows = [{k: v for k, v in row.items() if k != "segment"} for row in VALID["customers"]]
    write_csv(landing / "customers.csv", rows)
    with pytest.raises(LandingError) as error:
        load(landing)
    assert str(error.value) == (f"{landing / 'customers.csv'} lacks the column segment that the contract "
                                "requires for table customers.")


def test_unreadable_file_names_it(tmp_path: Path) -> None:
    landing = landing_with(tmp_path)
    (landing / "products.csv").unlink()
    (landing / "products.parquet").write_bytes(b"this is not parquet")
    con = duckdb.connect()
    load_table(con, landing, TABLES_BY_NAME["fx_rates"])
    with pytest.raises(LandingError) as error:
        load_table(con, landing, TABLES_BY_NAME["products"])
    parquet = landing / "products.parquet"
    # one sentence: DuckDB's reason without its error class, ending with a full stop
    assert str(error.value) == (f"Could not read {parquet} for table products: No magic bytes found at end of file "
                                f"'{parquet}'.")

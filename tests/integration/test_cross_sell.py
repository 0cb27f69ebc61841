"""Cross-sell: marts.copurchase_pairs against mlxtend, and the guardrails of marts.cross_sell_recommendations.

The dbt unit tests pin the arithmetic on hand-computed baskets. Here:

- the pairs mart is compared with an independent computation, mlxtend's fpgrowth + association_rules, on
  baskets built in Python (seeded synthetic baskets with duplicate lines, cancelled and returned orders and
  orders outside the window; and the project generator's sample data): the same set of pairs at or above the
  threshold, exact counts, metrics within 1e-9;
- the recommendations are built on a planted scenario in which the best-scoring candidates of a customer
  are an owned product, an inactive product and a higher tier of the family just bought, and in which some
  customers have no consented primary contact: none of them may be recommended, and the singular tests of
  dbt_project/tests/cross_sell must pass; then rows breaking each rule are written into the mart and those
  tests must fail, so they can.
"""

from __future__ import annotations

import json
import math
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration.lib.contract import TABLES
from tests.conftest import AS_OF, load_landing, run_dbt

AS_OF_TS = datetime.fromisoformat(AS_OF) + timedelta(days=1)  # the as-of instant: the end of AS_OF, UTC
LOOKBACK_DAYS = 365
MIN_PAIR_ORDERS = 12
CROSS_SELL = "+path:models/marts/cross_sell stg_raw__customers +int_basket_orders_windowed"
CROSS_SELL_TESTS = "path:tests/cross_sell"
TOLERANCE = 1e-9


# ---------------------------------------------------------------------------------------------------------
# Warehouses built from Python rows (raw tables typed as the contract says)
# ---------------------------------------------------------------------------------------------------------

def write_raw_warehouse(path: Path, frames: dict[str, pd.DataFrame]) -> Path:
    """A warehouse loaded, through the load job `expansion run` uses, from landing files holding `frames` (every
    contract table, empty where no frame is given, typed as the contract says)."""
    landing = path.parent / f"{path.stem}-landing"
    landing.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        for table in TABLES:
            columns = ", ".join(f'"{column.name}" {column.type}' for column in table.columns)
            con.execute(f"create or replace table landing_rows ({columns})")
            frame = frames.get(table.name)
            if frame is not None and len(frame):
                con.register("frame", frame)
                names = ", ".join(f'"{name}"' for name in frame.columns)
                con.execute(f"insert into landing_rows ({names}) select {names} from frame")
                con.unregister("frame")
            con.execute(f"copy landing_rows to '{landing / (table.name + '.parquet')}' (format parquet)")
    finally:
        con.close()
    load_landing(landing, path, path.parent / f"{path.stem}-target", max_quarantine_share=1.0, gates=False)
    return path


def build(warehouse: Path, target: Path, vars_: dict[str, object], select: str = CROSS_SELL) -> None:
    run_dbt(["build", "--select", *select.split(), "--indirect-selection", "cautious"], warehouse, target,
            {key: str(value) for key, value in vars_.items()})


def fetch(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# ---------------------------------------------------------------------------------------------------------
# The independent computation: mlxtend
# ---------------------------------------------------------------------------------------------------------

def mlxtend_rules(transactions: list[list[str]], min_pair_orders: int) -> dict[tuple[str, str], dict[str, float]]:
    """One-antecedent, one-consequent rules with at least `min_pair_orders` orders, from mlxtend."""
    from mlxtend.frequent_patterns import association_rules, fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    n = len(transactions)
    encoder = TransactionEncoder()
    onehot = pd.DataFrame(encoder.fit(transactions).transform(transactions), columns=encoder.columns_)
    min_support = min_pair_orders / n
    itemsets = fpgrowth(onehot, min_support=min_support, use_colnames=True)
    rules = association_rules(itemsets, num_itemsets=n, metric="support", min_threshold=min_support)
    rules = rules[(rules["antecedents"].map(len) == 1) & (rules["consequents"].map(len) == 1)]
    out = {}
    for rule in rules.to_dict("records"):
        key = (next(iter(rule["antecedents"])), next(iter(rule["consequents"])))
        out[key] = {
            "orders_with_both": round(rule["support"] * n),
            "orders_with_product": round(rule["antecedent support"] * n),
            "orders_with_paired_product": round(rule["consequent support"] * n),
            "total_orders": n,
            "support": rule["support"], "confidence": rule["confidence"], "lift": rule["lift"],
            "leverage": rule["leverage"],
            "conviction": None if math.isinf(rule["conviction"]) else rule["conviction"],
        }
    return out


PAIR_COLUMNS = ("product_id", "paired_product_id", "orders_with_both", "orders_with_product",
                "orders_with_paired_product", "total_orders", "support", "confidence", "lift", "leverage",
                "conviction")


def mart_pairs(warehouse: Path) -> dict[tuple[str, str], dict[str, float]]:
    rows = fetch(warehouse, f"select {', '.join(PAIR_COLUMNS)} from marts.copurchase_pairs")
    return {(row[0], row[1]): dict(zip(PAIR_COLUMNS[2:], row[2:], strict=True)) for row in rows}


def mismatches(mart: dict, reference: dict) -> list[str]:
    problems = [f"only in the mart: {key}" for key in sorted(mart.keys() - reference.keys())]
    problems += [f"only in mlxtend: {key}" for key in sorted(reference.keys() - mart.keys())]
    for key in sorted(mart.keys() & reference.keys()):
        for column, expected in reference[key].items():
            actual = mart[key][column]
            if isinstance(expected, int) or expected is None or actual is None:
                same = actual == expected
            else:
                same = abs(actual - expected) <= TOLERANCE * max(1.0, abs(expected))
            if not same:
                problems.append(f"{key} {column}: mart {actual!r}, mlxtend {expected!r}")
    return problems


def counted_baskets(orders: pd.DataFrame, items: pd.DataFrame) -> dict[str, list[str]]:
    """Baskets the contract counts, computed in pandas: not cancelled, placed in the window, a set per order."""
    start = AS_OF_TS - timedelta(days=LOOKBACK_DAYS)
    counted = orders[(orders["status"] != "cancelled") & (orders["ordered_at"] >= start)
                     & (orders["ordered_at"] < AS_OF_TS)]
    baskets = items.groupby("order_id")["product_id"].agg(lambda products: sorted(set(products)))
    return {order_id: baskets.get(order_id, []) for order_id in counted["order_id"]}


# ---------------------------------------------------------------------------------------------------------
# Synthetic data: baskets with planted complements, and a recommendation scenario
# ---------------------------------------------------------------------------------------------------------

CAMERAS = ("cam_lite", "cam_standard", "cam_pro")
FILLERS = tuple(f"acc_{i:02d}" for i in range(24))
# complement -> share of camera orders that also hold it (old_lens is inactive: still sold together in the past)
CAMERA_COMPLEMENTS = {"memory_card": 0.5, "old_lens": 0.45, "tripod": 0.4, "camera_bag": 0.3}


def products_frame() -> pd.DataFrame:
    rows = [(product, "Aurora Camera", tier + 1, True) for tier, product in enumerate(CAMERAS)]
    rows += [("memory_card", "Memory cards", None, True), ("old_lens", "Lenses", None, False),
             ("tripod", "Tripods", None, True), ("camera_bag", "Camera bags", None, True),
             ("lens", "Lenses", None, True)]
    rows += [(product, "Accessories", None, True) for product in FILLERS]
    return pd.DataFrame({
        "product_id": [row[0] for row in rows],
        "sku": [row[0].upper() for row in rows],
        "name": [row[0].replace("_", " ").title() for row in rows],
        "category": "Shop",
        "family": [row[1] for row in rows],
        "tier": pd.array([row[2] for row in rows], dtype="Int32"),
        "list_price": 10.0,
        "currency": "USD",
        "is_active": [row[3] for row in rows],
    })


def synthetic_frames(seed: int = 11, n_customers: int = 600, n_orders: int = 5000) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    customers = [f"cus_{i:04d}" for i in range(n_customers)]
    # orders over 500 days before the as-of instant (so some fall outside the 365-day window), a few after it
    offsets = rng.uniform(-500, 0.5, n_orders)
    ordered_at = [AS_OF_TS + timedelta(days=float(offset)) for offset in offsets]
    status = rng.choice(["delivered", "cancelled", "returned", "shipped"], n_orders, p=[0.8, 0.08, 0.06, 0.06])
    # 4 % of the orders were delivered in the send window (placed two days before delivery)
    for i in rng.choice(n_orders, n_orders // 25, replace=False):
        ordered_at[i] = AS_OF_TS - timedelta(hours=float(rng.uniform(24.5, 47.5)) + 48)
        status[i] = "delivered"
    order_ids = [f"ord_{i:05d}" for i in range(n_orders)]
    orders = pd.DataFrame({
        "order_id": order_ids,
        "customer_id": rng.choice(customers, n_orders),
        "ordered_at": ordered_at,
        "status": status,
        "delivered_at": [at + timedelta(days=2) if s in ("delivered", "returned") else None
                         for at, s in zip(ordered_at, status, strict=True)],
        "currency": "USD",
        "updated_at": ordered_at,
    })
    popularity = 1.0 / np.arange(1, len(FILLERS) + 1) ** 0.8
    popularity /= popularity.sum()
    lines: list[tuple[str, str, int]] = []
    for order_id in order_ids:
        basket = list(rng.choice(FILLERS, rng.integers(1, 4), p=popularity))
        if rng.random() < 0.35:
            camera = CAMERAS[rng.choice(3, p=[0.5, 0.3, 0.2])]
            basket.append(camera)
            basket += [product for product, share in CAMERA_COMPLEMENTS.items() if rng.random() < share]
            if camera == "cam_lite" and rng.random() < 0.25:
                basket.append("cam_pro")  # a higher tier bought with the lite one (a gift, a second body)
        if rng.random() < 0.1:
            basket += ["lens", "memory_card"]
        if rng.random() < 0.06:
            basket.append(basket[0])  # the same product on a second line
        lines += [(order_id, product, int(rng.integers(1, 4))) for product in basket]
    items = pd.DataFrame(lines, columns=["order_id", "product_id", "quantity"])
    items["line_number"] = items.groupby("order_id").cumcount() + 1
    items["unit_price"] = 10.0
    items["discount"] = 0.0
    contacts = pd.DataFrame({
        "contact_id": [f"con_{i:04d}" for i in range(n_customers)],
        "customer_id": customers,
        "email": [f"person{i}@example.com" for i in range(n_customers)],
        "first_name": "Alex",
        "is_primary": True,
        "email_opt_in": rng.random(n_customers) < 0.8,
        "unsubscribed_at": [AS_OF_TS - timedelta(days=30) if r < 0.1 else None for r in rng.random(n_customers)],
        "updated_at": AS_OF_TS - timedelta(days=100),
    })
    frames = {
        "customers": pd.DataFrame({"customer_id": customers, "name": customers, "email_domain": "example.com",
                                   "segment": "smb", "country": "US",
                                   "created_at": AS_OF_TS - timedelta(days=900)}),
        "products": products_frame(),
        "contacts": contacts,
        "orders": orders,
        "order_items": items,
    }
    return add_recommendation_scenario(frames)


def add_recommendation_scenario(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Three planted customers whose camera orders were delivered in the send window (36 h before as-of).

    cus_owner: consented primary contact; bought a tripod last year; holds camera_bag as a subscription add-on.
    cus_unsubscribed: the primary contact unsubscribed. cus_no_opt_in: the primary contact never opted in
    (a consented contact exists, but it is not the primary one).
    """
    delivered_at = AS_OF_TS - timedelta(hours=36)
    ordered_at = delivered_at - timedelta(days=2)
    planted = ["cus_owner", "cus_unsubscribed", "cus_no_opt_in"]
    customers = pd.DataFrame({"customer_id": planted, "name": planted, "email_domain": "example.com",
                              "segment": "smb", "country": "US", "created_at": AS_OF_TS - timedelta(days=900)})
    orders = pd.DataFrame({
        "order_id": ["src_owner", "old_owner", "src_unsubscribed", "src_no_opt_in"],
        "customer_id": ["cus_owner", "cus_owner", "cus_unsubscribed", "cus_no_opt_in"],
        "ordered_at": [ordered_at, AS_OF_TS - timedelta(days=300), ordered_at, ordered_at],
        "status": "delivered",
        "delivered_at": [delivered_at, AS_OF_TS - timedelta(days=298), delivered_at, delivered_at],
        "currency": "USD",
        "updated_at": delivered_at,
    })
    items = pd.DataFrame({
        "order_id": ["src_owner", "old_owner", "src_unsubscribed", "src_no_opt_in"],
        "product_id": ["cam_lite", "tripod", "cam_lite", "cam_lite"],
        "quantity": 1, "line_number": 1, "unit_price": 10.0, "discount": 0.0,
    })
    contacts = pd.DataFrame({
        "contact_id": ["con_owner", "con_unsubscribed", "con_no_opt_in", "con_no_opt_in_colleague"],
        "customer_id": ["cus_owner", "cus_unsubscribed", "cus_no_opt_in", "cus_no_opt_in"],
        "email": ["owner@example.com", "unsub@example.com", "noopt@example.com", "colleague@example.com"],
        "first_name": "Sam",
        "is_primary": [True, True, True, False],
        "email_opt_in": [True, True, False, True],
        "unsubscribed_at": [None, AS_OF_TS - timedelta(days=10), None, None],
        "updated_at": AS_OF_TS - timedelta(days=100),
    })
    subscription_items = pd.DataFrame({
        "item_id": ["si_bag"], "subscription_id": ["sub_owner"], "customer_id": ["cus_owner"], "kind": ["addon"],
        "plan_id": [None], "product_id": ["camera_bag"], "quantity": [1], "unit_price": [5.0],
        "billing_period": ["month"], "currency": ["USD"], "status": ["active"],
        "valid_from": [AS_OF_TS - timedelta(days=60)], "valid_to": [None],
    })
    return {
        **frames,
        "customers": pd.concat([frames["customers"], customers], ignore_index=True),
        "orders": pd.concat([frames["orders"], orders], ignore_index=True),
        "order_items": pd.concat([frames["order_items"], items], ignore_index=True),
        "contacts": pd.concat([frames["contacts"], contacts], ignore_index=True),
        "subscription_items": subscription_items,
    }


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, pd.DataFrame]]:
    folder = tmp_path_factory.mktemp("cross_sell_synthetic")
    frames = synthetic_frames()
    warehouse = write_raw_warehouse(folder / "synthetic.duckdb", frames)
    build(warehouse, folder / "target", {"as_of_date": AS_OF, "cross_sell_lookback_days": LOOKBACK_DAYS,
                                         "cross_sell_min_pair_orders": MIN_PAIR_ORDERS})
    return warehouse, frames


# ---------------------------------------------------------------------------------------------------------
# copurchase_pairs = mlxtend
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_pairs_equal_mlxtend_on_synthetic_baskets(synthetic: tuple[Path, dict[str, pd.DataFrame]]) -> None:
    warehouse, frames = synthetic
    transactions = list(counted_baskets(frames["orders"], frames["order_items"]).values())
    reference = mlxtend_rules(transactions, MIN_PAIR_ORDERS)
    mart = mart_pairs(warehouse)
    assert len(reference) > 50, "the synthetic baskets should give a good number of rules"
    assert mismatches(mart, reference) == []
    # the comparison has teeth: the data holds duplicate lines, cancelled and out-of-window orders, and a
    # self-join of the counted orders' raw lines (no de-duplication) gets pair counts wrong
    orders, items = frames["orders"], frames["order_items"]
    assert items.duplicated(["order_id", "product_id"]).sum() > 100
    assert (orders["status"] == "cancelled").sum() > 100
    assert (orders["ordered_at"] < AS_OF_TS - timedelta(days=LOOKBACK_DAYS)).sum() > 100
    counted_lines = items[items["order_id"].isin(counted_baskets(orders, items).keys())]
    naive = counted_lines.merge(counted_lines, on="order_id").query("product_id_x < product_id_y").groupby(
        ["product_id_x", "product_id_y"]).size()
    wrong = [key for key, values in mart.items() if key[0] < key[1] and naive[key] != values["orders_with_both"]]
    assert wrong, "duplicate lines should make a naive line self-join count some pairs twice"


@pytest.mark.slow
def test_pairs_equal_mlxtend_on_generated_sample(loaded_warehouse: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "generated.duckdb"
    shutil.copy(loaded_warehouse, warehouse)
    min_pair_orders = 5
    build(warehouse, tmp_path / "target", {"as_of_date": AS_OF, "cross_sell_min_pair_orders": min_pair_orders},
          select="+path:models/marts/cross_sell/copurchase_pairs.sql")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        orders = con.execute("select order_id, status, ordered_at from raw.orders").df()
        items = con.execute("select order_id, product_id from raw.order_items").df()
    finally:
        con.close()
    transactions = list(counted_baskets(orders, items).values())
    reference = mlxtend_rules(transactions, min_pair_orders)
    assert len(reference) > 10
    assert mismatches(mart_pairs(warehouse), reference) == []


# ---------------------------------------------------------------------------------------------------------
# cross_sell_recommendations: exclusions, consent, and tests that can fail
# ---------------------------------------------------------------------------------------------------------

def recommendations(warehouse: Path, customer_id: str) -> list[tuple]:
    return fetch(warehouse, f"""
        select product_id, contact_id, source_order_id, source_product_id, rank, score, reason, send_after,
            send_before
        from marts.cross_sell_recommendations where customer_id = '{customer_id}' order by rank""")


@pytest.mark.slow
def test_recommendations_leave_out_owned_inactive_upsell_and_unconsented(
        synthetic: tuple[Path, dict[str, pd.DataFrame]]) -> None:
    warehouse, _ = synthetic
    rules = {row[0]: row[1:] for row in fetch(warehouse, """
        select paired_product_id, confidence, lift from marts.copurchase_pairs where product_id = 'cam_lite'""")}
    # without the exclusions, the inactive lens, the owned tripod and camera bag and the higher tier would be
    # candidates of the lite camera (lift well above the minimum)
    for product in ("old_lens", "tripod", "camera_bag", "cam_pro", "memory_card"):
        assert rules[product][1] > 2, f"cam_lite -> {product} should be a strong rule"
    owner = recommendations(warehouse, "cus_owner")
    products = [row[0] for row in owner]
    assert products, "the planted customer should get recommendations"
    assert products[0] == "memory_card"
    assert not set(products) & {"old_lens", "tripod", "camera_bag", "cam_pro", "cam_standard", "cam_lite"}
    best = owner[0]
    assert best[1:5] == ("con_owner", "src_owner", "cam_lite", 1)
    confidence, lift = rules["memory_card"]
    assert best[5] == pytest.approx(confidence * math.log(lift), rel=1e-12)
    assert best[6] == (f"Bought together with Cam Lite in {round(confidence * 100)} % of its orders, "
                       f"{round(lift, 1)}× more often than chance")
    delivered_at = AS_OF_TS - timedelta(hours=36)
    assert (best[7], best[8]) == (delivered_at + timedelta(hours=24), delivered_at + timedelta(hours=48))
    assert recommendations(warehouse, "cus_unsubscribed") == []
    assert recommendations(warehouse, "cus_no_opt_in") == []
    # generated customers get some too, at most top N each, ranked 1..n
    counts = fetch(warehouse, """
        select count(distinct customer_id), max(rank), count(*) filter (where rank = 1)
        from marts.cross_sell_recommendations""")[0]
    assert counts[0] > 5 and counts[1] <= 3 and counts[2] == counts[0]


def failing_tests(target: Path) -> dict[str, int]:
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {result["unique_id"].split(".")[2]: result["failures"] for result in results
            if result["status"] == "fail"}


@pytest.mark.slow
def test_guardrail_tests_fail_on_bad_rows(synthetic: tuple[Path, dict[str, pd.DataFrame]], tmp_path: Path) -> None:
    source, _ = synthetic
    warehouse = tmp_path / "corrupted.duckdb"
    shutil.copy(source, warehouse)
    target = tmp_path / "target"
    run_dbt(["test", "--select", CROSS_SELL_TESTS], warehouse, target,
            {"cross_sell_min_pair_orders": str(MIN_PAIR_ORDERS)})
    assert failing_tests(target) == {}

    con = duckdb.connect(str(warehouse))
    try:
        template = con.execute("""
            select * from marts.cross_sell_recommendations where customer_id = 'cus_owner' and rank = 1""").df()
        bad = pd.concat([template] * 4, ignore_index=True)
        bad["product_id"] = ["tripod", "old_lens", "cam_pro", "memory_card"]  # owned, inactive, higher tier
        bad.loc[3, ["customer_id", "contact_id"]] = ["cus_unsubscribed", "con_unsubscribed"]
        bad.loc[3, "source_order_id"] = "src_unsubscribed"
        con.register("bad", bad)
        con.execute("insert into marts.cross_sell_recommendations by name select * from bad")
    finally:
        con.close()
    completed = run_dbt(["test", "--select", CROSS_SELL_TESTS], warehouse, target,
                        {"cross_sell_min_pair_orders": str(MIN_PAIR_ORDERS)}, check=False)
    assert completed.returncode != 0
    failed = failing_tests(target)
    guardrails = {
        "assert_cross_sell_recommendations_exclude_owned_products": 1,
        "assert_cross_sell_recommendations_exclude_inactive_products": 1,
        "assert_cross_sell_recommendations_exclude_higher_tiers": 1,
        "assert_cross_sell_recommendations_address_consented_primary_contacts": 1,
    }
    assert {name: failed.get(name) for name in guardrails} == guardrails
    assert "assert_copurchase_pairs_are_consistent" not in failed

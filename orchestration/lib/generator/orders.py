"""The orders and order_items tables: orders over two years with fulfilment, older versions, and their lines."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from orchestration.lib.generator.arrays import (
    dictionary_column,
    group_positions,
    money,
    take_rows,
    timestamps,
    uniform_int,
)
from orchestration.lib.generator.catalogue import Catalogue
from orchestration.lib.generator.catalogue.constants import DAY, HOUR
from orchestration.lib.generator.catalogue.currencies import CURRENCIES, CURRENCY_DECIMALS, round_price
from orchestration.lib.generator.catalogue.products import Products
from orchestration.lib.generator.customers import Customers
from orchestration.lib.generator.effect import EffectPlanter
from orchestration.lib.generator.ids import IdSequences
from orchestration.lib.generator.tables import VersionedTable, contract_table, with_older_versions

ORDER_DAYS = 2 * 365  # orders over the 2 years before end_date
ORDERS_PER_CUSTOMER = 4.0
ORDER_GROWTH = 0.5  # the order rate at end_date is 1.5 times the rate two years before
SEGMENT_ORDER_WEIGHT = np.array([1.0, 1.8, 3.0])  # order propensity per segment
ORDER_STATUSES = ("placed", "shipped", "delivered", "cancelled", "returned")
PLACED, SHIPPED, DELIVERED, CANCELLED, RETURNED = range(len(ORDER_STATUSES))
OLDER_VERSION_SHARE = 0.15  # of all orders, taken from those that progressed past placed
LINES_P = (0.34, 0.32, 0.18, 0.10, 0.06)  # 1..5 base lines; partners and duplicates bring the mean to ~2.5
QUANTITIES = (1, 2, 3, 4, 5, 6, 8, 10)
QUANTITY_P = (0.72, 0.14, 0.05, 0.03, 0.02, 0.02, 0.01, 0.01)


@dataclass(frozen=True)
class Orders:
    """The latest version of each order of a chunk, by customer then time (one entry an order)."""

    owner: np.ndarray  # index into the chunk's customers
    ordered: np.ndarray  # epoch seconds
    status: np.ndarray  # index into ORDER_STATUSES
    delivered: np.ndarray
    updated: np.ndarray
    has_delivery: np.ndarray


@dataclass(frozen=True)
class _Fulfilment:
    """When each order ships and is delivered, and how it ends (one entry an order)."""

    shipped: np.ndarray
    delivered: np.ndarray
    cancelled: np.ndarray
    returned: np.ndarray
    unconfirmed: np.ndarray  # shipped, delivery never confirmed


def generate_orders(catalogue: Catalogue, rng: np.random.Generator, customers: Customers, sequences: IdSequences,
                    planter: EffectPlanter | None = None) -> tuple[VersionedTable, pa.Table]:
    """The orders of a chunk's customers (latest versions, then ~15 % older ones) and their order_items; with a
    `planter`, the planted effect's follow-up orders after them (see `effect`)."""
    orders = _draw_orders(catalogue.end, rng, customers, planter)
    count = len(orders.owner)
    currency = customers.currency[orders.owner]
    order_ids = sequences.take("ord_", count)
    progressed = np.flatnonzero(orders.status != PLACED)
    share = min(1.0, OLDER_VERSION_SHARE * count / max(len(progressed), 1))
    old = progressed[rng.random(len(progressed)) < share]
    rows, is_old = with_older_versions(count, old)
    table = contract_table("orders", {
        "order_id": order_ids.take(pa.array(rows)),
        "customer_id": dictionary_column(customers.ids, orders.owner[rows]),
        "ordered_at": timestamps(orders.ordered[rows]),
        "status": dictionary_column(ORDER_STATUSES, np.where(is_old, PLACED, orders.status[rows])),
        "delivered_at": timestamps(orders.delivered[rows], orders.has_delivery[rows] & ~is_old),
        "currency": dictionary_column(CURRENCIES, currency[rows]),
        "updated_at": timestamps(np.where(is_old, orders.ordered[rows], orders.updated[rows])),
    })
    item_order, item_product = _draw_lines(catalogue.products, rng, count)
    items = _order_items_table(catalogue, rng, orders.ordered, currency, order_ids, item_order, item_product)
    if planter is not None:
        follow_ups, follow_up_items = _follow_up_orders(catalogue, planter, customers, orders, sequences,
                                                        item_order, item_product)
        table, items = pa.concat_tables([table, follow_ups]), pa.concat_tables([items, follow_up_items])
    return VersionedTable(table, current_rows=count, superseded=len(old)), items


def _draw_orders(end: int, rng: np.random.Generator, customers: Customers,
                 planter: EffectPlanter | None = None) -> Orders:
    """Order instants, owners, fulfilment and status, sorted by customer and time."""
    ordered, owner = _order_owners(rng, customers, _order_instants(end, rng, customers.count))
    fulfilment = _fulfilment(rng, ordered)
    _deliver_in_send_window(end, rng, customers.created[owner], ordered, fulfilment)
    if planter is not None:
        _deliver_in_send_window(planter.effect.send_instant, planter.rng, customers.created[owner], ordered,
                                fulfilment, planter.send_window_count(len(ordered)))
    status, updated = _status(end, rng, ordered, fulfilment)
    orders = Orders(owner=owner, ordered=ordered, status=status, delivered=fulfilment.delivered, updated=updated,
                    has_delivery=(status == DELIVERED) | (status == RETURNED))
    return take_rows(orders, np.lexsort((ordered, owner)))


def _order_instants(end: int, rng: np.random.Generator, n_customers: int) -> np.ndarray:
    """~4 instants per customer over the two years before `end`, with a density growing as 1 + g*x."""
    window = end - ORDER_DAYS * DAY
    growth = ORDER_GROWTH
    uniform = rng.random(rng.poisson(ORDERS_PER_CUSTOMER * n_customers))
    share = (np.sqrt(1.0 + 2.0 * growth * uniform * (1.0 + growth / 2.0)) - 1.0) / growth
    return np.minimum(window + (share * (end - window)).astype(np.int64), end - 60)


def _order_owners(rng: np.random.Generator, customers: Customers,
                  ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Give each instant to a customer that exists by then, by a heavy-tailed propensity higher for larger
    segments; instants before the first customer are dropped. Returns the kept instants and their owners."""
    by_created = np.argsort(customers.created, kind="stable")
    propensity = rng.gamma(1.5, 1 / 1.5, customers.count) * SEGMENT_ORDER_WEIGHT[customers.segment]
    cumulative = np.cumsum(propensity[by_created])
    existing = np.searchsorted(customers.created[by_created], ordered, side="right")
    ordered = ordered[existing > 0]
    existing = existing[existing > 0]
    pick = np.searchsorted(cumulative, rng.random(len(ordered)) * cumulative[existing - 1], side="right")
    return ordered, by_created[np.minimum(pick, existing - 1)]


def _fulfilment(rng: np.random.Generator, ordered: np.ndarray) -> _Fulfilment:
    """Shipping within a day, delivery in 1-5 days (5 % late: 7-20 days); 4 % cancelled, 3 % returned."""
    count = len(ordered)
    late = rng.random(count) < 0.05
    delay = np.where(late, uniform_int(rng, 7 * DAY, 20 * DAY, count), uniform_int(rng, DAY, 5 * DAY, count))
    delivered = ordered + delay
    shipped = ordered + uniform_int(rng, 4 * HOUR, 24 * HOUR, count)
    outcome = rng.random(count)
    return _Fulfilment(shipped=shipped, delivered=delivered, cancelled=outcome < 0.04,
                       returned=(outcome >= 0.04) & (outcome < 0.07),
                       unconfirmed=(outcome >= 0.07) & (outcome < 0.10))


def _deliver_in_send_window(end: int, rng: np.random.Generator, owner_created: np.ndarray, ordered: np.ndarray,
                            fulfilment: _Fulfilment, count: int | None = None) -> None:
    """Move a few orders (`count`; by default 0.2 %, at least 3, whatever the scale) to deliveries 24-48 h before
    `end`, in place."""
    eligible = np.flatnonzero((owner_created < end - 7 * DAY) & ~fulfilment.cancelled)
    if not len(eligible):
        return
    count = min(len(eligible), max(3, math.ceil(len(ordered) * 0.002)) if count is None else count)
    pick = rng.choice(eligible, count, replace=False)
    fulfilment.delivered[pick] = end - uniform_int(rng, 24 * HOUR + 600, 48 * HOUR - 600, count)
    ordered[pick] = fulfilment.delivered[pick] - uniform_int(rng, DAY, 4 * DAY, count)
    fulfilment.shipped[pick] = ordered[pick] + uniform_int(rng, 4 * HOUR, 20 * HOUR, count)
    fulfilment.returned[pick] = fulfilment.unconfirmed[pick] = False


def _status(end: int, rng: np.random.Generator, ordered: np.ndarray,
            fulfilment: _Fulfilment) -> tuple[np.ndarray, np.ndarray]:
    """Each order's status at `end` and when it last changed (returns within 20 days of delivery,
    cancellations within 2 days of the order, both before `end`)."""
    shipped, delivered = fulfilment.shipped, fulfilment.delivered
    arrived = delivered < end
    status = np.where(shipped < end, SHIPPED, PLACED)
    status = np.where(arrived & ~fulfilment.unconfirmed, DELIVERED, status)
    status = np.where(fulfilment.returned & arrived, RETURNED, status)
    status = np.where(fulfilment.cancelled, CANCELLED, status)
    updated = ordered.copy()
    updated = np.where(status == SHIPPED, shipped, updated)
    updated = np.where(status == DELIVERED, delivered, updated)
    returned_at = delivered + (rng.random(len(ordered)) * np.clip(end - 1 - delivered, 0, 20 * DAY)).astype(np.int64)
    cancelled_at = ordered + 1 + (rng.random(len(ordered)) * np.clip(end - 2 - ordered, 0, 2 * DAY)).astype(np.int64)
    updated = np.where(status == RETURNED, returned_at, updated)
    updated = np.where(status == CANCELLED, cancelled_at, updated)
    return status, updated


def _draw_lines(products: Products, rng: np.random.Generator, n_orders: int) -> tuple[np.ndarray, np.ndarray]:
    """1-5 lines per order, plus planted partners and a few repeated products: (order index, product index)."""
    lines = rng.choice(len(LINES_P), n_orders, p=LINES_P) + 1
    line_order = np.repeat(np.arange(n_orders), lines)
    product = products.orderable[np.searchsorted(products.popularity_cdf, rng.random(len(line_order)), side="right")]
    item_order, item_product = _with_partners(rng, products, line_order, product)
    return _with_repeated_products(rng, lines, product, item_order, item_product)


def _order_items_table(catalogue: Catalogue, rng: np.random.Generator, ordered: np.ndarray, currency: np.ndarray,
                       order_ids: pa.Array, item_order: np.ndarray, item_product: np.ndarray) -> pa.Table:
    """order_items for the lines (order index, product index), priced in each order's currency at its date."""
    products = catalogue.products
    count = len(item_order)
    quantity = rng.choice(QUANTITIES, count, p=QUANTITY_P)
    item_currency = currency[item_order]
    usd_per_unit = catalogue.fx.usd_per_unit(item_currency, ordered[item_order])
    unit = round_price(products.usd[item_product] / usd_per_unit, item_currency)
    discounted = rng.random(count) < 0.08
    discount = np.where(discounted, round_price(unit * quantity * rng.uniform(0.05, 0.25, count), item_currency), 0.0)
    decimals = CURRENCY_DECIMALS[item_currency]
    return contract_table("order_items", {
        "order_id": order_ids.take(pa.array(item_order)),
        "line_number": pa.array((group_positions(np.bincount(item_order, minlength=len(ordered))) + 1)
                                .astype(np.int32)),
        "product_id": dictionary_column(products.ids, item_product),
        "quantity": pa.array(quantity.astype(np.int32)),
        "unit_price": money(unit, decimals),
        "discount": money(discount, decimals),
    })


def _with_partners(rng: np.random.Generator, products: Products, line_order: np.ndarray,
                   product: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lines plus each product's planted partners (at their attach rates), a product once per order."""
    orders, picked = [line_order], [product]
    for slot in range(products.partners.shape[1]):
        partner = products.partners[product, slot]
        hit = (partner >= 0) & (rng.random(len(product)) < products.partner_share[product, slot])
        orders.append(line_order[hit])
        picked.append(partner[hit])
    all_orders = np.concatenate(orders)
    all_products = np.concatenate(picked)
    _, first_seen = np.unique(all_orders * len(products.usd) + all_products, return_index=True)
    keep = np.sort(first_seen)
    return all_orders[keep], all_products[keep]


def _with_repeated_products(rng: np.random.Generator, lines: np.ndarray, product: np.ndarray,
                            item_order: np.ndarray, item_product: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """~2 % of orders carry their first product on a second line too; returns the lines sorted by order."""
    repeated = np.flatnonzero(rng.random(len(lines)) < 0.02)
    first_line = np.cumsum(lines) - lines
    item_order = np.concatenate([item_order, repeated])
    item_product = np.concatenate([item_product, product[first_line[repeated]]])
    by_order = np.argsort(item_order, kind="stable")
    return item_order[by_order], item_product[by_order]


def _follow_up_orders(catalogue: Catalogue, planter: EffectPlanter, customers: Customers, orders: Orders,
                      sequences: IdSequences, item_order: np.ndarray,
                      item_product: np.ndarray) -> tuple[pa.Table, pa.Table]:
    """The planted effect's cross-sell purchases (see `effect`): orders never cancelled or returned."""
    send = planter.effect.send_instant
    in_window = ((orders.status == DELIVERED) & (orders.delivered >= send - 48 * HOUR)
                 & (orders.delivered < send - 24 * HOUR))
    owner, ordered, line_order, product = planter.follow_ups(customers.ids, orders.owner, in_window, item_order,
                                                             item_product, catalogue.products.partners)
    count, end, rng = len(owner), catalogue.end, planter.rng
    shipped = ordered + uniform_int(rng, 4 * HOUR, 24 * HOUR, count)
    delivered = ordered + uniform_int(rng, DAY, 5 * DAY, count)
    status = np.where(delivered < end, DELIVERED, np.where(shipped < end, SHIPPED, PLACED))
    updated = np.where(status == DELIVERED, delivered, np.where(status == SHIPPED, shipped, ordered))
    currency = customers.currency[owner]
    order_ids = sequences.take("ord_", count)
    table = contract_table("orders", {
        "order_id": order_ids,
        "customer_id": dictionary_column(customers.ids, owner),
        "ordered_at": timestamps(ordered),
        "status": dictionary_column(ORDER_STATUSES, status),
        "delivered_at": timestamps(delivered, status == DELIVERED),
        "currency": dictionary_column(CURRENCIES, currency),
        "updated_at": timestamps(updated),
    })
    items = _order_items_table(catalogue, rng, ordered, currency, order_ids, line_order, product)
    return table, items

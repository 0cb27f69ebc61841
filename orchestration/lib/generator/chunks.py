"""One chunk of customers and everything that hangs off them: the six chunked tables, one part each."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from orchestration.lib.generator.arrays import random_stream
from orchestration.lib.generator.catalogue import Catalogue
from orchestration.lib.generator.contacts import generate_contacts
from orchestration.lib.generator.customers import generate_customers
from orchestration.lib.generator.effect import EffectPlanter, PlantedEffect
from orchestration.lib.generator.ids import IdSequences
from orchestration.lib.generator.orders import generate_orders
from orchestration.lib.generator.subscriptions import generate_subscription_items
from orchestration.lib.generator.usage import generate_usage_events


@dataclass(frozen=True)
class Chunk:
    """The tables of one chunk, in CHUNKED_TABLES order."""

    tables: dict[str, pa.Table]
    superseded: dict[str, int]  # older versions written (contacts, orders)
    current_rows: dict[str, int]  # leading rows that are latest versions (contacts, orders)


def generate_chunk(catalogue: Catalogue, seed: int, index: int, first: int, count: int,
                   sequences: IdSequences, effect: PlantedEffect | None = None) -> Chunk:
    """Customers first+1 .. first+count and their rows, from the chunk's own random stream.

    The tables draw from that stream in a fixed order (customers, contacts, orders and their lines,
    subscriptions, usage); changing the order, or a table's draws, changes every table after it. A planted
    `effect` draws from a stream of its own (`effect.EffectPlanter`), so it leaves the others' draws alone.
    """
    rng = random_stream(seed, 100, index)
    planter = EffectPlanter.for_chunk(effect, seed, index)
    customers, customers_table = generate_customers(catalogue, rng, first, count)
    contacts = generate_contacts(catalogue, rng, customers)
    orders, order_items = generate_orders(catalogue, rng, customers, sequences, planter)
    subscription_items, accounts = generate_subscription_items(catalogue, rng, customers, sequences, planter)
    usage_events = generate_usage_events(catalogue, rng, customers, accounts, sequences)
    versioned = {"contacts": contacts, "orders": orders}
    return Chunk(
        tables={"customers": customers_table, "contacts": contacts.table, "orders": orders.table,
                "order_items": order_items, "subscription_items": subscription_items, "usage_events": usage_events},
        superseded={name: table.superseded for name, table in versioned.items()},
        current_rows={name: table.current_rows for name, table in versioned.items()},
    )

"""The products table: tiered families, their accessories (with planted complementary pairs) and add-ons."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from orchestration.lib.generator.arrays import money, random_stream
from orchestration.lib.generator.ids import ids
from orchestration.lib.generator.tables import contract_table

TIER_NAMES = ("Lite", "Standard", "Pro")
TIER_PRICE_FACTOR = (1.0, 1.5, 2.3)
TIERED_FAMILIES = (  # family, category, Lite price (USD), accessory lines bought with it
    ("Aurora Camera", "Cameras", 449, ("Memory cards", "Lenses", "Tripods", "Camera bags")),
    ("Nimbus Laptop", "Computers", 899, ("Laptop sleeves", "Chargers", "Docking stations", "Mice")),
    ("Vertex Drone", "Drones", 599, ("Drone batteries", "Propellers", "Memory cards")),
    ("Pulse Headphones", "Audio", 129, ("Ear cushions", "Audio cables", "Cases")),
    ("Orbit Speaker", "Audio", 99, ("Audio cables", "Speaker mounts", "Chargers")),
    ("Atlas Monitor", "Displays", 279, ("Monitor arms", "Display cables", "Cleaning kits")),
    ("Zephyr Tablet", "Tablets", 399, ("Styluses", "Tablet covers", "Screen protectors")),
    ("Nova Phone", "Phones", 699, ("Phone cases", "Screen protectors", "Chargers")),
    ("Echo Watch", "Wearables", 249, ("Watch straps", "Chargers", "Screen protectors")),
    ("Summit Router", "Networking", 149, ("Network cables", "Range extenders")),
    ("Prism Projector", "Displays", 549, ("Projector screens", "Display cables", "Projector mounts")),
    ("Terra E-Bike", "Mobility", 1899, ("Bike helmets", "Bike locks", "Bike lights")),
    ("Halo Smart Lamp", "Smart home", 59, ("Smart plugs", "Light strips")),
    ("Stride Treadmill", "Fitness", 999, ("Fitness mats", "Heart rate straps")),
    ("Vapor Espresso Machine", "Kitchen", 349, ("Coffee beans", "Descaling kits", "Milk jugs")),
    ("Glide Robot Vacuum", "Smart home", 299, ("Vacuum filters", "Vacuum brushes")),
    ("Beacon Doorbell", "Smart home", 129, ("Smart plugs", "Chime units", "Doorbell mounts")),
    ("Quasar Game Console", "Gaming", 449, ("Controllers", "Gaming headsets", "Memory cards")),
    ("Lumen E-Reader", "Tablets", 129, ("E-reader covers", "Chargers")),
    ("Rally Action Camera", "Cameras", 299, ("Memory cards", "Camera mounts", "Camera batteries")),
)
ACCESSORY_LINES = (  # line (= family), item name, price range (USD)
    ("Memory cards", "Memory card", 12, 89), ("Lenses", "Lens", 149, 899), ("Tripods", "Tripod", 29, 199),
    ("Camera bags", "Camera bag", 39, 149), ("Laptop sleeves", "Laptop sleeve", 19, 79),
    ("Chargers", "Charger", 19, 69), ("Docking stations", "Docking station", 89, 299), ("Mice", "Mouse", 19, 99),
    ("Drone batteries", "Drone battery", 59, 169), ("Propellers", "Propeller set", 9, 29),
    ("Ear cushions", "Ear cushion set", 9, 29), ("Audio cables", "Audio cable", 9, 39),
    ("Cases", "Carry case", 15, 49), ("Speaker mounts", "Speaker mount", 19, 59),
    ("Monitor arms", "Monitor arm", 49, 199), ("Display cables", "Display cable", 9, 39),
    ("Cleaning kits", "Cleaning kit", 9, 25), ("Styluses", "Stylus", 29, 129),
    ("Tablet covers", "Tablet cover", 19, 79), ("Screen protectors", "Screen protector", 9, 29),
    ("Phone cases", "Phone case", 15, 59), ("Watch straps", "Watch strap", 19, 89),
    ("Network cables", "Network cable", 5, 29), ("Range extenders", "Range extender", 39, 129),
    ("Projector screens", "Projector screen", 79, 299), ("Projector mounts", "Projector mount", 29, 99),
    ("Bike helmets", "Bike helmet", 49, 199), ("Bike locks", "Bike lock", 29, 99),
    ("Bike lights", "Bike light", 19, 79), ("Smart plugs", "Smart plug", 15, 39),
    ("Light strips", "Light strip", 29, 89), ("Fitness mats", "Fitness mat", 25, 89),
    ("Heart rate straps", "Heart rate strap", 39, 99), ("Coffee beans", "Coffee beans", 12, 39),
    ("Descaling kits", "Descaling kit", 9, 19), ("Milk jugs", "Milk jug", 15, 39),
    ("Vacuum filters", "Vacuum filter", 9, 29), ("Vacuum brushes", "Vacuum brush", 9, 29),
    ("Chime units", "Chime unit", 19, 49), ("Doorbell mounts", "Doorbell mount", 9, 29),
    ("Controllers", "Controller", 49, 79), ("Gaming headsets", "Gaming headset", 39, 199),
    ("E-reader covers", "E-reader cover", 19, 49), ("Camera mounts", "Camera mount", 9, 49),
    ("Camera batteries", "Camera battery", 19, 59),
)
ACCESSORY_VARIANTS = ("Black", "White", "Graphite", "Compact", "XL", "Travel", "2-pack")
N_ACCESSORIES = 234
ADDONS = (  # name, monthly USD price, max units
    ("Extra storage 1 TB", 20, 5), ("Priority support", 99, 1), ("Advanced security pack", 49, 1),
    ("API boost 1M calls", 79, 3), ("Dedicated success manager", 499, 1), ("Extended audit retention", 29, 1),
)
N_EUR_PRICED = 8  # accessories listed in EUR
N_INACTIVE = 15
PARTNER_SHARE = (0.25, 0.5)  # range of the share of a product's orders that also hold a planted partner


@dataclass(frozen=True)
class Products:
    """The product catalogue: what order lines and subscription add-ons draw on, and its table."""

    ids: pa.Array
    usd: np.ndarray  # USD price per product
    orderable: np.ndarray  # product indexes that appear on order lines (all but add-ons)
    popularity_cdf: np.ndarray  # over `orderable`
    partners: np.ndarray  # [product, 2] -> partner product index or -1
    partner_share: np.ndarray  # [product, 2] -> probability the partner is on the same order
    addons: np.ndarray  # product indexes of the subscription add-ons
    addon_max_units: np.ndarray  # per add-on (in `addons` order)
    table: pa.Table  # products


@dataclass
class _ProductRows:
    """The product rows while they are built, one list per column."""

    names: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    families: list[str] = field(default_factory=list)
    tiers: list[int | None] = field(default_factory=list)
    prices: list[float] = field(default_factory=list)  # USD

    def add(self, name: str, category: str, family: str, tier: int | None, price: float) -> int:
        """Append a product; returns its index."""
        self.names.append(name)
        self.categories.append(category)
        self.families.append(family)
        self.tiers.append(tier)
        self.prices.append(price)
        return len(self.names) - 1

    def skus(self) -> list[str]:
        """`<family initials>-<number>` plus `-<tier initial>` for tiered products."""
        skus = []
        for number, (family, tier) in enumerate(zip(self.families, self.tiers, strict=True), start=1):
            code = "".join(word[0] for word in family.replace("-", " ").split()).upper()[:3]
            skus.append(f"{code}-{number:04d}" + (f"-{TIER_NAMES[tier - 1][0]}" if tier else ""))
        return skus


def build_products(seed: int, eur_rate: float) -> Products:
    """The products (from their own random stream), EUR-priced ones converted at `eur_rate` USD per EUR."""
    rng = random_stream(seed, 2)
    rows = _ProductRows()
    _add_tiered(rows)
    n_tiered = len(rows.names)
    line_products = _add_accessories(rng, rows)
    n_sellable = len(rows.names)
    addons = np.array([rows.add(name, "Add-ons", "Workspace add-ons", None, float(price))
                       for name, price, _units in ADDONS])
    currencies, list_price, usd = _price_some_in_eur(rng, rows, np.arange(n_tiered, n_sellable), eur_rate)
    partners, partner_share = _partners(rng, line_products, len(rows.names))
    active = _active(rng, len(rows.names), n_sellable, partners)
    product_ids = ids("prd_", np.arange(1, len(rows.names) + 1))
    table = contract_table("products", {
        "product_id": product_ids, "sku": pa.array(rows.skus()), "name": pa.array(rows.names),
        "category": pa.array(rows.categories), "family": pa.array(rows.families),
        "tier": pa.array(rows.tiers, pa.int32()), "list_price": money(list_price, 2),
        "currency": pa.array(currencies), "is_active": pa.array(active),
    })
    return Products(
        ids=product_ids, usd=usd, orderable=np.arange(n_sellable),
        popularity_cdf=_popularity_cdf(rng, active[:n_sellable]), partners=partners, partner_share=partner_share,
        addons=addons, addon_max_units=np.array([units for _, _, units in ADDONS]), table=table,
    )


def _add_tiered(rows: _ProductRows) -> None:
    """Three tiers (Lite, Standard, Pro) of each tiered family, priced up from the Lite price."""
    for family, category, base, _lines in TIERED_FAMILIES:
        for tier, (tier_name, factor) in enumerate(zip(TIER_NAMES, TIER_PRICE_FACTOR, strict=True), start=1):
            rows.add(f"{family} {tier_name}", category, family, tier, math.floor(base * factor) - 0.01)


def _add_accessories(rng: np.random.Generator, rows: _ProductRows) -> dict[str, list[int]]:
    """N_ACCESSORIES accessories spread over the lines, in random variants; returns line -> product indexes."""
    per_line = np.full(len(ACCESSORY_LINES), N_ACCESSORIES // len(ACCESSORY_LINES))
    per_line[: N_ACCESSORIES - per_line.sum()] += 1
    line_products: dict[str, list[int]] = {}
    for (line, item, low, high), count in zip(ACCESSORY_LINES, per_line, strict=True):
        variants = rng.permutation(len(ACCESSORY_VARIANTS))[:count]
        for variant in sorted(variants):
            price = float(np.floor(rng.uniform(low, high))) + 0.99
            index = rows.add(f"{item} {ACCESSORY_VARIANTS[variant]}", "Accessories", line, None, price)
            line_products.setdefault(line, []).append(index)
    return line_products


def _price_some_in_eur(rng: np.random.Generator, rows: _ProductRows, accessories: np.ndarray,
                       eur_rate: float) -> tuple[list[str], np.ndarray, np.ndarray]:
    """List N_EUR_PRICED accessories in EUR; returns the currency, list price and USD price of every product."""
    currencies = ["USD"] * len(rows.prices)
    usd = np.array(rows.prices, dtype=np.float64)
    list_price = usd.copy()
    for product in rng.choice(accessories, N_EUR_PRICED, replace=False):
        currencies[product] = "EUR"
        list_price[product] = math.floor(usd[product] / eur_rate) + 0.99
        usd[product] = list_price[product] * eur_rate
    return currencies, list_price, usd


def _partners(rng: np.random.Generator, line_products: dict[str, list[int]],
              n_products: int) -> tuple[np.ndarray, np.ndarray]:
    """Each tiered product gets 1-2 accessories from its family's lines, bought with it 25-50 % of the time."""
    partners = np.full((n_products, 2), -1, dtype=np.int64)
    partner_share = np.zeros((n_products, 2))
    for family_index, (_family, _category, _base, lines) in enumerate(TIERED_FAMILIES):
        candidates = np.array(sorted({product for line in lines for product in line_products[line]}))
        for tier in range(len(TIER_NAMES)):
            product = family_index * len(TIER_NAMES) + tier
            count = 1 + int(rng.random() < 0.5)
            partners[product, :count] = rng.choice(candidates, count, replace=False)
            partner_share[product, :count] = rng.uniform(*PARTNER_SHARE, count)
    return partners, partner_share


def _active(rng: np.random.Generator, n_products: int, n_sellable: int, partners: np.ndarray) -> np.ndarray:
    """is_active: N_INACTIVE sellable products (~5 %) are inactive, never an add-on or a planted partner."""
    partner_set = {int(product) for product in partners[partners >= 0]}
    inactive_pool = np.array([product for product in range(n_sellable) if product not in partner_set])
    active = np.ones(n_products, dtype=bool)
    active[rng.choice(inactive_pool, N_INACTIVE, replace=False)] = False
    return active


def _popularity_cdf(rng: np.random.Generator, active: np.ndarray) -> np.ndarray:
    """Zipf-skewed popularity over the sellable products (inactive ones sell less), as a cumulative share."""
    ranks = rng.permutation(len(active))
    weight = 1.0 / (ranks + 1.0) ** 0.9
    weight[~active] *= 0.3
    popularity_cdf = np.cumsum(weight) / weight.sum()
    popularity_cdf[-1] = 1.0
    return popularity_cdf

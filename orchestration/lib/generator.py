"""Deterministic sample landing-directory generator.

`generate()` writes a realistic landing directory in the shape of ../shared/DATA_CONTRACT.md (the tables,
columns and types come from `orchestration.lib.contract`): fx rates, customers and their contacts, a product
catalogue with tiered families and planted complementary pairs, orders and order lines, a plan ladder,
subscription histories (trials, upgrades, seat changes, pauses, churn, reactivation, add-ons) and 90 days of
product usage. Everything is vectorised (numpy / pyarrow); customers are processed in chunks, each chunk
writing one part per table, so memory stays bounded at any scale, and a background thread writes part k
while part k+1 is generated.

The same (seed, scale, dirty, end_date, fmt) gives byte-identical files. Each chunk has its own random stream
(derived from the seed and the chunk number), and IDs are numbered sequentially in chunk order.

Layout of `out_dir`::

    fx_rates.parquet  products.parquet  plans.parquet           (small tables: one file each)
    customers/part-00000.parquet  part-00001.parquet ...        (one part per chunk of customers)
    contacts/ orders/ order_items/ subscription_items/ usage_events/   (likewise)
    _generation.json                                            (the report, minus timing and out_dir)

With `fmt="csv"` every `.parquet` above is a `.csv`. With `dirty=True` each table is a folder (the small ones
become `<table>/part-00000.<fmt>`) and also holds `part-dirty.csv`: rows that each break exactly one rule of
the contract (counted in `GenerationReport.planted`). The dirty part sorts after the clean parts, so a
repeated key or conflicting version there is the one the loader quarantines.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from orchestration.lib.contract import MONEY, RATE, TABLE_NAMES, TABLES_BY_NAME, TIMESTAMP, Rule

__all__ = ["AWKWARD_NAMES", "CHUNK_CUSTOMERS", "SMALL_TABLES", "GenerationReport", "generate"]

# ----------------------------------------------------------------------------------------------------------------
# Sizes and knobs
# ----------------------------------------------------------------------------------------------------------------

DAY = 86_400
HOUR = 3_600
CUSTOMERS_PER_SCALE = 10_000
CHUNK_CUSTOMERS = 50_000
HISTORY_DAYS = 3 * 365  # customers are created over the 3 years before end_date
ORDER_DAYS = 2 * 365  # orders over the 2 years before end_date
USAGE_DAYS = 90
FX_EXTRA_DAYS = 35  # fx history starts a little before the first customer
ORDERS_PER_CUSTOMER = 4.0
ORDER_GROWTH = 0.5  # the order rate at end_date is 1.5 times the rate two years before
LINES_P = (0.34, 0.32, 0.18, 0.10, 0.06)  # 1..5 base lines; partners and duplicates bring the mean to ~2.5
SMALL_TABLES = ("fx_rates", "products", "plans")
CHUNKED_TABLES = ("customers", "contacts", "orders", "order_items", "subscription_items", "usage_events")

CURRENCIES = ("USD", "EUR", "GBP", "CAD", "AUD", "JPY")  # index 0 (USD) has no fx_rates rows
CURRENCY_DECIMALS = np.array([2, 2, 2, 2, 2, 0])
FX_START = np.array([1.0, 1.08, 1.27, 0.74, 0.66, 0.0067])
COUNTRIES = ("US", "GB", "DE", "FR", "NL", "ES", "CA", "AU", "JP")
COUNTRY_P = (0.38, 0.12, 0.10, 0.08, 0.05, 0.05, 0.09, 0.07, 0.06)
COUNTRY_CURRENCY = np.array([0, 2, 1, 1, 1, 1, 3, 4, 5])
COUNTRY_TLD = ("com", "co.uk", "de", "fr", "nl", "es", "ca", "com.au", "co.jp")
COUNTRY_SUFFIX = (
    ("Inc", "LLC"), ("Ltd", "PLC"), ("GmbH", "AG"), ("SAS", "SA"), ("B.V.", "N.V."), ("S.L.", "S.A."),
    ("Inc", "Ltd"), ("Pty Ltd", "Pty Ltd"), ("K.K.", "G.K."),
)
SEGMENTS = ("smb", "mid_market", "enterprise")
SEGMENT_P = (0.70, 0.22, 0.08)
SEGMENT_ORDER_WEIGHT = np.array([1.0, 1.8, 3.0])
ORDER_STATUSES = ("placed", "shipped", "delivered", "cancelled", "returned")
SUB_STATUSES = ("trialing", "active", "paused", "canceled")
METRICS = ("active_seats", "storage_gb", "api_calls", "feature_blocked")
PERIODS = ("month", "year")
KINDS = ("plan", "addon")

ADJECTIVES = (
    "Bright", "Northern", "Blue", "Silver", "Rapid", "Quiet", "Golden", "Crimson", "Solid", "Clever", "Green",
    "Lunar", "Polar", "Urban", "Alpine", "Coastal", "Prime", "Bold", "Swift", "Happy", "Iron", "Cedar", "Maple",
    "Velvet", "Electric", "Atomic", "Cosmic", "Sunny", "Misty", "Royal", "Harbor", "Summit", "Copper", "Amber",
    "Emerald", "Granite", "Hidden", "Modern", "Noble", "Open", "Pacific", "Radiant", "Scarlet", "True", "Vivid",
    "Wild", "Young", "Zen",
)
NOUNS = (
    "Falcon", "Harbor", "Labs", "Works", "Systems", "Foods", "Logistics", "Studios", "Analytics", "Dynamics",
    "Ventures", "Robotics", "Textiles", "Media", "Health", "Energy", "Partners", "Networks", "Bakery", "Outfitters",
    "Machines", "Designs", "Goods", "Software", "Capital", "Pharma", "Motors", "Retail", "Cloud", "Print", "Farms",
    "Garden", "Brewing", "Optics", "Metrics", "Signals", "Supply", "Tools", "Travel", "Water", "Wind", "Forge",
    "Bridge", "Canyon", "River", "Peak", "Pixel", "Vector",
)
FIRST_NAMES = (
    ("Emma", "emma"), ("Liam", "liam"), ("Olivia", "olivia"), ("Noah", "noah"), ("Ava", "ava"), ("Lucas", "lucas"),
    ("Mia", "mia"), ("Leon", "leon"), ("Sofia", "sofia"), ("Hugo", "hugo"), ("Zoë", "zoe"), ("José", "jose"),
    ("Søren", "soren"), ("Chloé", "chloe"), ("Łukasz", "lukasz"), ("Anaïs", "anais"), ("Yuki", "yuki"),
    ("Haruto", "haruto"), ("Amelia", "amelia"), ("Oliver", "oliver"), ("Isla", "isla"), ("Jack", "jack"),
    ("Lena", "lena"), ("Felix", "felix"), ("Clara", "clara"), ("Mateo", "mateo"), ("Lucía", "lucia"),
    ("Pablo", "pablo"), ("Sanne", "sanne"), ("Daan", "daan"), ("Aiko", "aiko"), ("Ren", "ren"), ("Grace", "grace"),
    ("Ethan", "ethan"), ("Maya", "maya"), ("Samuel", "samuel"), ("Nora", "nora"), ("Elias", "elias"),
    ("Ingrid", "ingrid"), ("Björn", "bjorn"), ("Priya", "priya"), ("Omar", "omar"), ("Fatima", "fatima"),
)
LAST_NAMES = (
    "smith", "mueller", "dubois", "devries", "garcia", "tanaka", "brown", "martin", "schmidt", "rossi", "nguyen",
    "kowalski", "jansen", "lopez", "sato", "wilson", "taylor", "moreau", "fischer", "bakker", "fernandez", "suzuki",
    "clark", "lewis", "walker", "young", "king", "wright", "scott", "green", "obrien", "patel",
)
# Valid but awkward customer names present in every dataset: (name, email_domain, country index).
AWKWARD_NAMES = (
    ("O'Brien, \"Quotes\" & Co", "obrien-quotes.com", 1),
    ("Robert'); DROP TABLE customers;--", "bobby-tables.com", 0),
    ("Zoë Café GmbH", "zoe-cafe.de", 2),
    ("株式会社テスト", "test-kk.co.jp", 8),
    ("Ça Va Sàrl", "cava.fr", 3),
    ("100% <Pure> Data & Co.", "pure-data.com", 0),
    ("🚀 Rocket Ünïcødé Ltd", "rocket-unicode.co.uk", 1),
)

# --- products ---------------------------------------------------------------------------------------------------
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
N_EUR_PRICED = 8
N_INACTIVE = 15

# --- plans ------------------------------------------------------------------------------------------------------
PLAN_FAMILIES = ("Workspace", "Insights")
PLAN_TIERS = {  # family -> (tier name, monthly USD price, seat limit, storage GB, API calls / month, new features)
    "Workspace": (
        ("Starter", 8, 10, 100, 10_000, ("core", "chat")),
        ("Team", 15, 50, 1_000, 100_000, ("guests", "integrations")),
        ("Business", 30, 250, 5_000, 1_000_000, ("sso", "audit_log", "advanced_analytics")),
        ("Enterprise", 60, None, None, None, ("scim", "data_residency", "custom_roles")),
    ),
    "Insights": (
        ("Basic", 49, 5, 50, 50_000, ("dashboards", "csv_export")),
        ("Plus", 149, 20, 500, 500_000, ("scheduled_reports", "alerts")),
        ("Premium", 399, None, None, None, ("forecasting", "anomaly_detection", "embedded_analytics")),
    ),
}
FAMILY_CODE = {"Workspace": "ws", "Insights": "in"}
ANNUAL_FACTOR = 10  # an annual plan costs 10 monthly periods

# --- subscription history event types ---------------------------------------------------------------------------
EV_TRIAL_END, EV_UPGRADE, EV_DOWNGRADE, EV_SEATS, EV_PRICE, EV_PAUSE, EV_RESUME, EV_CHURN, EV_REACT = range(9)
ST_TRIALING, ST_ACTIVE, ST_PAUSED, ST_CANCELED, ST_ENDED = range(5)

PARQUET_OPTIONS = {"compression": "snappy", "store_schema": False, "write_statistics": True}
ISO_Z = "%Y-%m-%dT%H:%M:%SZ"
OFFSET_COLUMNS = {"customers": ("created_at",), "orders": ("ordered_at", "delivered_at")}  # a few rows at +02:00


# ----------------------------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------------------------


@dataclass
class GenerationReport:
    out_dir: Path
    end_date: date
    rows: dict[str, int]  # rows written per table, planted and superseded rows included
    superseded: dict[str, int]  # older versions written for contacts and orders (not errors)
    planted: dict[str, dict[str, int]]  # table -> Rule value -> contract-breaking rows planted (only with dirty)
    seconds: float

    def to_json(self, **parameters: Any) -> str:
        """The deterministic part of the report (no timing, no out_dir) as JSON."""
        body = {
            "end_date": self.end_date.isoformat(),
            **parameters,
            "rows": self.rows,
            "superseded": self.superseded,
            "planted": self.planted,
        }
        return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# ----------------------------------------------------------------------------------------------------------------
# Array helpers
# ----------------------------------------------------------------------------------------------------------------

_T4 = np.frombuffer(b"".join(f"{i:04d}".encode() for i in range(10_000)), dtype="<u4")


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFFFFFF, seed >> 32 & 0xFFFFFFFF, *keys])


def _head_words(prefix: str) -> np.ndarray:
    """The first 4 bytes of an ID (the prefix and the leading digits), indexed by the number // 10**8."""
    if not 1 <= len(prefix) <= 4:
        raise ValueError(f"ID prefix {prefix!r} must have 1 to 4 characters")
    digits = 4 - len(prefix)
    heads = (prefix.encode() + (f"{i:0{digits}d}".encode() if digits else b"") for i in range(10**digits))
    return np.frombuffer(b"".join(heads), dtype="<u4")


def _ids(prefix: str, nums: np.ndarray) -> pa.Array:
    """`prefix` + zero-padded numbers, 12 characters in all (so DuckDB inlines them), built from 4-byte words."""
    width = 12 - len(prefix)
    nums = np.asarray(nums, dtype=np.int64)
    n = len(nums)
    if n and (nums.min() < 0 or nums.max() >= 10**width):
        raise ValueError(f"{prefix} numbers do not fit in {width} digits")
    words = np.empty((n, 3), dtype=np.uint32)
    words[:, 0] = _head_words(prefix)[nums // 100_000_000]
    rest = nums % 100_000_000
    words[:, 1] = _T4[rest // 10_000]
    words[:, 2] = _T4[rest % 10_000]
    offsets = np.arange(0, 12 * (n + 1), 12, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(words))


def _seq_ids(prefix: str, start: int, n: int) -> pa.Array:
    """Sequential IDs start, start+1, ...; same as `_ids(prefix, arange)` but built with repeat/tile."""
    width = 12 - len(prefix)
    if start < 0 or start + n > 10**width:
        raise ValueError(f"{prefix} numbers do not fit in {width} digits")
    if n == 0:
        return pa.array([], pa.string())
    words = np.empty((n, 3), dtype=np.uint32)
    words[:, 2] = np.resize(np.roll(_T4, -(start % 10_000)), n)
    # the upper 8 digits change every 10,000 numbers: repeat them over their runs
    first_block, last_block = start // 10_000, (start + n - 1) // 10_000
    blocks = np.arange(first_block, last_block + 1, dtype=np.int64)
    run = np.full(len(blocks), 10_000, dtype=np.int64)
    run[0] = min(n, 10_000 - start % 10_000)
    if len(blocks) > 1:
        run[-1] = (start + n - 1) % 10_000 + 1
    words[:, 1] = np.repeat(_T4[blocks % 10_000], run)
    words[:, 0] = np.repeat(_head_words(prefix)[blocks // 10_000], run)
    offsets = np.arange(0, 12 * (n + 1), 12, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(words))


def _ts(secs: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Epoch seconds -> timestamp[us] (naive UTC)."""
    micros = (np.asarray(secs, dtype=np.int64) * 1_000_000).view("datetime64[us]")
    return pa.array(micros, type=pa.timestamp("us"), mask=None if valid is None else ~valid)


def _money(values: np.ndarray, decimals: np.ndarray | int = 2, scale: int = 4) -> pa.Array:
    """Floats rounded to `decimals` places -> decimal128(18, scale), built directly from its 16-byte words."""
    values = np.asarray(values, dtype=np.float64)
    factor = 10.0 ** np.asarray(decimals)
    unscaled = (np.round(values * factor) * (10.0**scale / factor)).round().astype(np.int64)
    words = np.empty((len(unscaled), 2), dtype=np.int64)
    words[:, 0] = unscaled
    words[:, 1] = np.where(unscaled < 0, -1, 0)
    return pa.Array.from_buffers(pa.decimal128(18, scale), len(unscaled), [None, pa.py_buffer(words)])


def _cat(values: Sequence[str] | pa.Array, idx: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A dictionary-encoded string column: values[idx] (null where not valid)."""
    dictionary = values if isinstance(values, pa.Array) else pa.array(list(values), pa.string())
    indices = pa.array(np.asarray(idx, dtype=np.int32), mask=None if valid is None else ~valid)
    return pa.DictionaryArray.from_arrays(indices, dictionary)


def _group_pos(counts: np.ndarray) -> np.ndarray:
    """Position within its group for np.repeat(arange(len(counts)), counts)."""
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(starts, counts)


def _uniform_int(rng: np.random.Generator, low: np.ndarray | int, high: np.ndarray | int,
                 size: int | None = None) -> np.ndarray:
    """Integers in [low, high) (high > low), vectorised over array bounds."""
    low = np.asarray(low, dtype=np.int64)
    high = np.asarray(high, dtype=np.int64)
    if size is None:
        size = int(np.broadcast(low, high).size)
    return low + (rng.random(size) * (high - low)).astype(np.int64)


def _ceil_month(secs: np.ndarray) -> np.ndarray:
    """The next 00:00 on a 1st of the month (the instant itself when it already is one)."""
    months = np.asarray(secs, dtype=np.int64).astype("datetime64[s]").astype("datetime64[M]")
    floor = months.astype("datetime64[s]").astype(np.int64)
    following = (months + 1).astype("datetime64[s]").astype(np.int64)
    return np.where(secs == floor, secs, following)


def _round_price(values: np.ndarray, currency: np.ndarray) -> np.ndarray:
    factor = 10.0 ** CURRENCY_DECIMALS[currency]
    return np.round(values * factor) / factor


_ARROW_TYPES = {
    "VARCHAR": pa.string(), "DATE": pa.date32(), "INTEGER": pa.int32(), "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_(), TIMESTAMP: pa.timestamp("us"),
    MONEY: pa.decimal128(18, 4), RATE: pa.decimal128(18, 8),
}


def _table(name: str, columns: dict[str, Any]) -> pa.Table:
    """A table with exactly the contract's columns, in its order and with its types."""
    spec = TABLES_BY_NAME[name]
    if set(columns) != set(spec.column_names):
        raise ValueError(f"{name}: columns {sorted(columns)} != contract {sorted(spec.column_names)}")
    arrays = []
    for column in spec.columns:
        array = columns[column.name]
        if not isinstance(array, pa.Array | pa.ChunkedArray):
            array = pa.array(array)
        wanted = _ARROW_TYPES[column.type]
        if pa.types.is_dictionary(array.type) and wanted == pa.string():
            pass  # written as a dictionary page, read back as a plain string
        elif array.type != wanted:
            array = array.cast(wanted)
        arrays.append(array)
    return pa.table(arrays, names=list(spec.column_names))


# ----------------------------------------------------------------------------------------------------------------
# Catalogues: fx rates, products, plans (independent of scale)
# ----------------------------------------------------------------------------------------------------------------


@dataclass
class _Catalogue:
    end: int  # exclusive end instant: 00:00 UTC the day after end_date (epoch seconds)
    fx_first_day: int  # epoch day of the first fx_rates row
    rates: np.ndarray  # [currency index, day - fx_first_day] -> USD per unit (row 0: USD = 1)
    fx_table: pa.Table
    # products
    product_ids: pa.Array
    product_usd: np.ndarray
    orderable: np.ndarray  # product indexes that appear on order lines (all but add-ons)
    popularity_cdf: np.ndarray  # over `orderable`
    partners: np.ndarray  # [product, 2] -> partner product index or -1
    partner_p: np.ndarray  # [product, 2] -> probability the partner is on the same order
    addons: np.ndarray  # product indexes of the subscription add-ons
    products_table: pa.Table
    # plans: index = plan number; see _plan_index
    plan_ids: pa.Array
    plan_usd: np.ndarray
    plan_seat_limit: np.ndarray  # float, inf = unlimited
    plan_storage: np.ndarray
    plan_api: np.ndarray
    plans_table: pa.Table
    features: tuple[str, ...]
    feature_start: np.ndarray  # [family, tier] -> first index in `features` of the tier's new features
    feature_count: np.ndarray  # [family, tier] -> number of new features at that tier
    max_tier: np.ndarray  # [family]
    seat_limit: np.ndarray  # [family, tier] (tier 0 unused)

    def day(self, secs: np.ndarray) -> np.ndarray:
        return np.asarray(secs, dtype=np.int64) // DAY - self.fx_first_day


def _plan_index(family: np.ndarray, tier: np.ndarray, period: np.ndarray) -> np.ndarray:
    """Workspace: 0..7 as (tier-1)*2 + period; Insights: 8..10 (monthly only)."""
    return np.where(family == 0, (tier - 1) * 2 + period, 8 + tier - 1)


def _build_catalogue(seed: int, end_date: date) -> _Catalogue:
    end_day = (end_date - date(1970, 1, 1)).days
    end = (end_day + 1) * DAY
    fx_first_day = end_day - HISTORY_DAYS - FX_EXTRA_DAYS
    n_days = end_day - fx_first_day + 1

    # fx: a seeded random walk in log space per currency, one row per day
    rng = _rng(seed, 1)
    steps = rng.normal(0.0, 0.004, size=(len(CURRENCIES) - 1, n_days))
    steps[:, 0] = 0.0
    walk = np.exp(np.cumsum(steps, axis=1))
    rates = np.vstack([np.ones(n_days), FX_START[1:, None] * walk])
    rates[1:] = np.round(rates[1:], 8)
    fx_cur = np.repeat(np.arange(1, len(CURRENCIES)), n_days)
    fx_day = np.tile(np.arange(n_days), len(CURRENCIES) - 1)
    fx_table = _table("fx_rates", {
        "currency": pa.array([CURRENCIES[i] for i in range(1, len(CURRENCIES))]).take(pa.array(fx_cur - 1)),
        "rate_date": pa.array((fx_first_day + fx_day).astype(np.int32), pa.int32()).view(pa.date32()),
        "usd_per_unit": _money(rates[fx_cur, fx_day], 8, scale=8),
    })

    # products
    rng = _rng(seed, 2)
    names, skus, categories, families, tiers, prices, currencies = [], [], [], [], [], [], []
    for family, category, base, _lines in TIERED_FAMILIES:
        for t, tier_name in enumerate(TIER_NAMES):
            names.append(f"{family} {tier_name}")
            categories.append(category)
            families.append(family)
            tiers.append(t + 1)
            prices.append(math.floor(base * TIER_PRICE_FACTOR[t]) - 0.01)
    n_tiered = len(names)
    per_line = np.full(len(ACCESSORY_LINES), N_ACCESSORIES // len(ACCESSORY_LINES))
    per_line[: N_ACCESSORIES - per_line.sum()] += 1
    line_products: dict[str, list[int]] = {}
    for (line, item, low, high), count in zip(ACCESSORY_LINES, per_line, strict=True):
        variants = rng.permutation(len(ACCESSORY_VARIANTS))[:count]
        for v in sorted(variants):
            line_products.setdefault(line, []).append(len(names))
            names.append(f"{item} {ACCESSORY_VARIANTS[v]}")
            categories.append("Accessories")
            families.append(line)
            tiers.append(None)
            prices.append(float(np.floor(rng.uniform(low, high))) + 0.99)
    n_sellable = len(names)
    addon_start = len(names)
    for name, price, _units in ADDONS:
        names.append(name)
        categories.append("Add-ons")
        families.append("Workspace add-ons")
        tiers.append(None)
        prices.append(float(price))
    n_products = len(names)
    currencies = ["USD"] * n_products
    usd = np.array(prices, dtype=np.float64)
    list_price = usd.copy()
    for i in rng.choice(np.arange(n_tiered, n_sellable), N_EUR_PRICED, replace=False):
        currencies[i] = "EUR"
        list_price[i] = math.floor(usd[i] / rates[1, -1]) + 0.99
        usd[i] = list_price[i] * rates[1, -1]
    for i, family in enumerate(families):
        code = "".join(word[0] for word in family.replace("-", " ").split()).upper()[:3]
        skus.append(f"{code}-{i + 1:04d}" + (f"-{TIER_NAMES[tiers[i] - 1][0]}" if tiers[i] else ""))

    # partners: each tiered product gets 1-2 accessories from its family's lines, with 25-50 % attach rates
    partners = np.full((n_products, 2), -1, dtype=np.int64)
    partner_p = np.zeros((n_products, 2))
    partner_set: set[int] = set()
    for f, (_family, _category, _base, lines) in enumerate(TIERED_FAMILIES):
        candidates = np.array(sorted({p for line in lines for p in line_products[line]}))
        for t in range(3):
            product = f * 3 + t
            k = 1 + int(rng.random() < 0.5)
            chosen = rng.choice(candidates, k, replace=False)
            partners[product, :k] = chosen
            partner_p[product, :k] = rng.uniform(0.25, 0.5, k)
            partner_set.update(int(c) for c in chosen)
    # ~5 % inactive, never an add-on or a planted partner
    inactive_pool = np.array([i for i in range(n_sellable) if i not in partner_set])
    active = np.ones(n_products, dtype=bool)
    active[rng.choice(inactive_pool, N_INACTIVE, replace=False)] = False
    # Zipf-skewed popularity over the sellable products
    orderable = np.arange(n_sellable)
    ranks = rng.permutation(n_sellable)
    weight = 1.0 / (ranks + 1.0) ** 0.9
    weight[~active[:n_sellable]] *= 0.3
    popularity_cdf = np.cumsum(weight) / weight.sum()
    popularity_cdf[-1] = 1.0

    product_ids = _ids("prd_", np.arange(1, n_products + 1))
    products_table = _table("products", {
        "product_id": product_ids,
        "sku": pa.array(skus),
        "name": pa.array(names),
        "category": pa.array(categories),
        "family": pa.array(families),
        "tier": pa.array(tiers, pa.int32()),
        "list_price": _money(list_price, 2),
        "currency": pa.array(currencies),
        "is_active": pa.array(active),
    })

    # plans
    plan_rows: list[dict[str, Any]] = []
    features: list[str] = []
    feature_start = np.zeros((2, 5), dtype=np.int64)
    feature_count = np.zeros((2, 5), dtype=np.int64)
    seat_limit = np.full((2, 5), np.inf)
    for f, family in enumerate(PLAN_FAMILIES):
        included: list[str] = []
        for t, (tier_name, price, seats, storage, api, new) in enumerate(PLAN_TIERS[family], start=1):
            feature_start[f, t] = len(features)
            feature_count[f, t] = len(new)
            features.extend(new)
            included.extend(new)
            seat_limit[f, t] = np.inf if seats is None else seats
            periods = (0, 1) if family == "Workspace" else (0,)
            for period in periods:
                plan_rows.append({
                    "plan_id": f"pln_{FAMILY_CODE[family]}{t}_{'mo' if period == 0 else 'yr'}",
                    "name": f"{family} {tier_name}" + (" (annual)" if period else ""),
                    "family": family, "tier": t, "billing_period": PERIODS[period],
                    "price": float(price * (ANNUAL_FACTOR if period else 1)),
                    "per_seat": family == "Workspace", "currency": "USD", "seat_limit": seats,
                    "storage_limit_gb": None if storage is None else float(storage), "api_calls_limit": api,
                    "features": ";".join(included),
                })
    plan_usd = np.array([r["price"] for r in plan_rows])

    def limit(key: str) -> np.ndarray:
        return np.array([np.inf if r[key] is None else float(r[key]) for r in plan_rows])

    plans_table = _table("plans", {
        **{k: pa.array([r[k] for r in plan_rows]) for k in
           ("plan_id", "name", "family", "tier", "billing_period", "per_seat", "currency", "features")},
        "price": _money(plan_usd, 2),
        "seat_limit": pa.array([r["seat_limit"] for r in plan_rows], pa.int32()),
        "storage_limit_gb": pa.array([r["storage_limit_gb"] for r in plan_rows], pa.float64()),
        "api_calls_limit": pa.array([r["api_calls_limit"] for r in plan_rows], pa.int64()),
    })
    return _Catalogue(
        end=end, fx_first_day=fx_first_day, rates=rates, fx_table=fx_table,
        product_ids=product_ids, product_usd=usd, orderable=orderable, popularity_cdf=popularity_cdf,
        partners=partners, partner_p=partner_p, addons=np.arange(addon_start, n_products),
        products_table=products_table,
        plan_ids=plans_table.column("plan_id").combine_chunks(), plan_usd=plan_usd,
        plan_seat_limit=limit("seat_limit"), plan_storage=limit("storage_limit_gb"), plan_api=limit("api_calls_limit"),
        plans_table=plans_table, features=tuple(features), feature_start=feature_start,
        feature_count=feature_count, max_tier=np.array([4, 3]), seat_limit=seat_limit,
    )


# ----------------------------------------------------------------------------------------------------------------
# Per-chunk generation
# ----------------------------------------------------------------------------------------------------------------


@dataclass
class _Counters:
    orders: int = 0
    items: int = 0
    events: int = 0


@dataclass
class _Chunk:
    tables: dict[str, pa.Table]
    superseded: dict[str, int]
    current_rows: dict[str, int] = field(default_factory=dict)  # leading rows that are latest versions


@dataclass
class _Customers:
    n: int
    number: np.ndarray  # global customer number (1-based)
    segment: np.ndarray
    country: np.ndarray
    currency: np.ndarray
    created: np.ndarray
    ids: pa.Array
    domains: pa.Array


def _customers(cat: _Catalogue, rng: np.random.Generator, first: int, n: int) -> tuple[_Customers, pa.Table]:
    end = cat.end
    number = np.arange(first + 1, first + n + 1, dtype=np.int64)
    segment = rng.choice(3, n, p=SEGMENT_P)
    country = rng.choice(len(COUNTRIES), n, p=COUNTRY_P)
    recent = rng.random(n) < 0.02
    created = np.where(
        recent,
        _uniform_int(rng, end - 14 * DAY, end - 2 * HOUR, n),
        _uniform_int(rng, end - HISTORY_DAYS * DAY, end - 14 * DAY, n),
    )
    adjective = rng.integers(len(ADJECTIVES), size=n)
    noun = rng.integers(len(NOUNS), size=n)
    suffix_pick = rng.integers(2, size=n)
    suffixes = pa.array([s for pair in COUNTRY_SUFFIX for s in pair])
    names = pc.binary_join_element_wise(
        pa.array(ADJECTIVES).take(pa.array(adjective)), pa.array(NOUNS).take(pa.array(noun)),
        suffixes.take(pa.array(country * 2 + suffix_pick)), " ")
    domains = pc.binary_join_element_wise(
        pa.array([a.lower() for a in ADJECTIVES]).take(pa.array(adjective)),
        pa.array([w.lower() for w in NOUNS]).take(pa.array(noun)),
        pc.cast(pa.array(number), pa.string()), ".", pa.array(COUNTRY_TLD).take(pa.array(country)), "")
    if first == 0:  # the awkward names, spread over the first chunk
        k = min(len(AWKWARD_NAMES), n)
        positions = (np.arange(k) * max(1, n // k)).astype(np.int64)
        mask = np.zeros(n, dtype=bool)
        mask[positions] = True
        names = pc.replace_with_mask(names, pa.array(mask), pa.array([a[0] for a in AWKWARD_NAMES[:k]]))
        domains = pc.replace_with_mask(domains, pa.array(mask), pa.array([a[1] for a in AWKWARD_NAMES[:k]]))
        country[positions] = [a[2] for a in AWKWARD_NAMES[:k]]
    currency = COUNTRY_CURRENCY[country]
    ids = _ids("cus_", number)
    table = _table("customers", {
        "customer_id": ids, "name": names, "email_domain": domains,
        "segment": _cat(SEGMENTS, segment), "country": _cat(COUNTRIES, country), "created_at": _ts(created),
    })
    return _Customers(n, number, segment, country, currency, created, ids, domains), table


def _contacts(cat: _Catalogue, rng: np.random.Generator, cus: _Customers) -> tuple[pa.Table, int, int]:
    end = cat.end
    k = rng.choice(3, cus.n, p=(0.5, 0.3, 0.2)) + 1
    owner = np.repeat(np.arange(cus.n), k)
    pos = _group_pos(k)
    n = len(owner)
    base_first = rng.integers(len(FIRST_NAMES), size=cus.n)
    first = (base_first[owner] + pos * 7) % len(FIRST_NAMES)
    last = rng.integers(len(LAST_NAMES), size=n)
    first_names = pa.array([f for f, _ in FIRST_NAMES])
    first_slugs = pa.array([s for _, s in FIRST_NAMES])
    emails = pc.binary_join_element_wise(
        first_slugs.take(pa.array(first)), ".", pa.array(LAST_NAMES).take(pa.array(last)), "@",
        cus.domains.take(pa.array(owner)), "")
    created = cus.created[owner]
    updated = created + 1 + (rng.random(n) * (end - 1 - created - 1)).astype(np.int64)
    unsubscribed = rng.random(n) < 0.05
    opt_in = (rng.random(n) < 0.65) & ~unsubscribed
    unsub_at = created + (rng.random(n) * (updated - created)).astype(np.int64)
    # ~10 % also have an older version: earlier updated_at, another first name, not yet unsubscribed
    old = np.flatnonzero(rng.random(n) < 0.10)
    old_updated = created[old] + (rng.random(len(old)) * (updated[old] - created[old])).astype(np.int64)
    old_first = (first[old] + 1 + rng.integers(len(FIRST_NAMES) - 1, size=len(old))) % len(FIRST_NAMES)
    rows = np.concatenate([np.arange(n), old])
    is_old = np.arange(len(rows)) >= n
    contact_ids = _ids("ct_", cus.number[owner] * 10 + pos + 1)
    table = _table("contacts", {
        "contact_id": contact_ids.take(pa.array(rows)),
        "customer_id": _cat(cus.ids, owner[rows]),
        "email": emails.take(pa.array(rows)),
        "first_name": _cat(first_names, np.concatenate([first, old_first])),
        "is_primary": pa.array(pos[rows] == 0),
        "email_opt_in": pa.array(np.where(is_old, opt_in[rows] | unsubscribed[rows], opt_in[rows])),
        "unsubscribed_at": _ts(unsub_at[rows], unsubscribed[rows] & ~is_old),
        "updated_at": _ts(np.concatenate([updated, old_updated])),
    })
    return table, len(old), n


def _orders(cat: _Catalogue, rng: np.random.Generator, cus: _Customers,
            counters: _Counters) -> tuple[pa.Table, pa.Table, int, int]:
    end = cat.end
    window = end - ORDER_DAYS * DAY
    # order instants follow a slightly growing density (1 + g*x over the window); each goes to a customer
    # that already exists then, drawn by a heavy-tailed propensity that is higher for larger segments
    g = ORDER_GROWTH
    x = (np.sqrt(1.0 + 2.0 * g * rng.random(rng.poisson(ORDERS_PER_CUSTOMER * cus.n)) * (1.0 + g / 2.0)) - 1.0) / g
    ordered = np.minimum(window + (x * (end - window)).astype(np.int64), end - 60)
    by_created = np.argsort(cus.created, kind="stable")
    propensity = np.cumsum((rng.gamma(1.5, 1 / 1.5, cus.n) * SEGMENT_ORDER_WEIGHT[cus.segment])[by_created])
    existing = np.searchsorted(cus.created[by_created], ordered, side="right")
    ordered = ordered[existing > 0]
    existing = existing[existing > 0]
    pick = np.searchsorted(propensity, rng.random(len(ordered)) * propensity[existing - 1], side="right")
    owner = by_created[np.minimum(pick, existing - 1)]
    n = len(owner)

    late = rng.random(n) < 0.05
    delay = np.where(late, _uniform_int(rng, 7 * DAY, 20 * DAY, n), _uniform_int(rng, DAY, 5 * DAY, n))
    delivered = ordered + delay
    shipped = ordered + _uniform_int(rng, 4 * HOUR, 24 * HOUR, n)
    r = rng.random(n)
    cancelled = r < 0.04
    returned = (r >= 0.04) & (r < 0.07)
    unconfirmed = (r >= 0.07) & (r < 0.10)  # shipped, delivery never confirmed
    # deliveries in the 24-48 h before the end of end_date, whatever the scale
    eligible = np.flatnonzero((cus.created[owner] < end - 7 * DAY) & ~cancelled)
    if len(eligible):
        m = min(len(eligible), max(3, math.ceil(n * 0.002)))
        pick = rng.choice(eligible, m, replace=False)
        delivered[pick] = end - _uniform_int(rng, 24 * HOUR + 600, 48 * HOUR - 600, m)
        ordered[pick] = delivered[pick] - _uniform_int(rng, DAY, 4 * DAY, m)
        shipped[pick] = ordered[pick] + _uniform_int(rng, 4 * HOUR, 20 * HOUR, m)
        returned[pick] = unconfirmed[pick] = False
    arrived = delivered < end
    status = np.where(shipped < end, 1, 0)
    status = np.where(arrived & ~unconfirmed, 2, status)
    status = np.where(returned & arrived, 4, status)
    status = np.where(cancelled, 3, status)
    updated = ordered.copy()
    updated = np.where(status == 1, shipped, updated)
    updated = np.where(status == 2, delivered, updated)
    # returns come 0-20 days after delivery, cancellations within 2 days of the order; both before the end
    returned_at = delivered + (rng.random(n) * np.clip(end - 1 - delivered, 0, 20 * DAY)).astype(np.int64)
    cancelled_at = ordered + 1 + (rng.random(n) * np.clip(end - 2 - ordered, 0, 2 * DAY)).astype(np.int64)
    updated = np.where(status == 4, returned_at, updated)
    updated = np.where(status == 3, cancelled_at, updated)
    has_delivery = (status == 2) | (status == 4)

    order = np.lexsort((ordered, owner))
    owner, ordered, status, delivered, updated, has_delivery = (
        a[order] for a in (owner, ordered, status, delivered, updated, has_delivery))
    currency = cus.currency[owner]
    order_ids = _seq_ids("ord_", counters.orders + 1, n)
    counters.orders += n

    # ~15 % of orders also arrive as an older version: placed, updated_at = ordered_at
    progressed = np.flatnonzero(status != 0)
    share = min(1.0, 0.15 * n / max(len(progressed), 1))
    old = progressed[rng.random(len(progressed)) < share]
    rows = np.concatenate([np.arange(n), old])
    is_old = np.arange(len(rows)) >= n
    orders = _table("orders", {
        "order_id": order_ids.take(pa.array(rows)),
        "customer_id": _cat(cus.ids, owner[rows]),
        "ordered_at": _ts(ordered[rows]),
        "status": _cat(ORDER_STATUSES, np.where(is_old, 0, status[rows])),
        "delivered_at": _ts(delivered[rows], has_delivery[rows] & ~is_old),
        "currency": _cat(CURRENCIES, currency[rows]),
        "updated_at": _ts(np.where(is_old, ordered[rows], updated[rows])),
    })

    # order lines
    lines = rng.choice(len(LINES_P), n, p=LINES_P) + 1
    line_order = np.repeat(np.arange(n), lines)
    product = cat.orderable[np.searchsorted(cat.popularity_cdf, rng.random(len(line_order)), side="right")]
    extra_orders, extra_products = [line_order], [product]
    for j in range(2):  # planted complementary pairs
        partner = cat.partners[product, j]
        hit = (partner >= 0) & (rng.random(len(product)) < cat.partner_p[product, j])
        extra_orders.append(line_order[hit])
        extra_products.append(partner[hit])
    all_orders = np.concatenate(extra_orders)
    all_products = np.concatenate(extra_products)
    _, first_seen = np.unique(all_orders * len(cat.product_usd) + all_products, return_index=True)
    keep = np.sort(first_seen)
    # ~2 % of orders carry one product on two lines
    dup_orders = np.flatnonzero(rng.random(n) < 0.02)
    first_line = np.cumsum(lines) - lines
    all_orders = np.concatenate([all_orders[keep], dup_orders])
    all_products = np.concatenate([all_products[keep], product[first_line[dup_orders]]])
    by_order = np.argsort(all_orders, kind="stable")
    item_order = all_orders[by_order]
    item_product = all_products[by_order]
    line_number = _group_pos(np.bincount(item_order, minlength=n)) + 1
    m = len(item_order)
    quantity = rng.choice([1, 2, 3, 4, 5, 6, 8, 10], m, p=(0.72, 0.14, 0.05, 0.03, 0.02, 0.02, 0.01, 0.01))
    item_currency = currency[item_order]
    usd_price = cat.product_usd[item_product]
    unit = _round_price(usd_price / cat.rates[item_currency, cat.day(ordered[item_order])], item_currency)
    discounted = rng.random(m) < 0.08
    discount = np.where(discounted, _round_price(unit * quantity * rng.uniform(0.05, 0.25, m), item_currency), 0.0)
    decimals = CURRENCY_DECIMALS[item_currency]
    items = _table("order_items", {
        "order_id": order_ids.take(pa.array(item_order)),
        "line_number": pa.array(line_number.astype(np.int32)),
        "product_id": _cat(cat.product_ids, item_product),
        "quantity": pa.array(quantity.astype(np.int32)),
        "unit_price": _money(unit, decimals),
        "discount": _money(discount, decimals),
    })
    return orders, items, len(old), n


@dataclass
class _Accounts:
    """The subscribed, not churned customers at the end: who gets usage events."""

    customer: np.ndarray  # index into the chunk's customers
    family: np.ndarray
    tier: np.ndarray
    quantity: np.ndarray
    plan: np.ndarray
    since: np.ndarray  # usage starts at max(end - 90 days, since)
    fast_grower: np.ndarray


def _subscriptions(cat: _Catalogue, rng: np.random.Generator, cus: _Customers,
                   counters: _Counters) -> tuple[pa.Table, _Accounts]:
    end = cat.end
    subscriber = np.flatnonzero(rng.random(cus.n) < 0.85)
    ns = len(subscriber)
    created = cus.created[subscriber]
    segment = cus.segment[subscriber]
    start = created + rng.exponential(20 * DAY, ns).astype(np.int64)
    too_late = start > end - HOUR
    start[too_late] = _uniform_int(rng, created[too_late], end - HOUR)
    on_first = rng.random(ns) < 0.10
    rounded = _ceil_month(start)
    start = np.where(on_first & (rounded < end - HOUR), rounded, start)

    family = (rng.random(ns) < 0.2).astype(np.int64)  # 0 Workspace, 1 Insights
    tier_p = np.array([
        [[0.55, 0.35, 0.08, 0.02], [0.15, 0.45, 0.30, 0.10], [0.02, 0.18, 0.45, 0.35]],
        [[0.60, 0.30, 0.10, 0.00], [0.30, 0.45, 0.25, 0.00], [0.10, 0.40, 0.50, 0.00]],
    ]).cumsum(axis=2)
    tier = (rng.random(ns)[:, None] > tier_p[family, segment]).sum(axis=1) + 1
    tier = np.minimum(tier, cat.max_tier[family])
    period = ((family == 0) & (rng.random(ns) < 0.31)).astype(np.int64)
    seat_low = np.array([1, 8, 40])[segment]
    seat_high = np.array([9, 45, 400])[segment]
    quantity = np.round(np.exp(rng.uniform(np.log(seat_low), np.log(seat_high)))).astype(np.int64)
    quantity = np.where(family == 0, np.minimum(quantity, cat.seat_limit[family, tier]), 1).astype(np.int64)
    trial = rng.random(ns) < 0.40
    trial_end = start + 14 * DAY
    never_converts = trial & (rng.random(ns) < 0.12)
    activated = np.where(trial, trial_end, start)
    evolves = ~never_converts & (activated < end - DAY)

    ev_sub: list[np.ndarray] = []
    ev_time: list[np.ndarray] = []
    ev_type: list[np.ndarray] = []
    ev_par: list[np.ndarray] = []

    def add(mask_or_idx: np.ndarray, times: np.ndarray, kind: int, par: np.ndarray | float = 0.0) -> None:
        idx = np.flatnonzero(mask_or_idx) if mask_or_idx.dtype == bool else mask_or_idx
        ev_sub.append(idx)
        ev_time.append(np.asarray(times, dtype=np.int64))
        ev_type.append(np.full(len(idx), kind))
        ev_par.append(np.broadcast_to(np.asarray(par, dtype=np.float64), (len(idx),)).copy())

    def month_boundary(times: np.ndarray, bound: np.ndarray, share: float) -> np.ndarray:
        rounded = _ceil_month(times)
        return np.where((rng.random(len(times)) < share) & (rounded < bound), rounded, times)

    ended_trial = trial & (trial_end < end)
    add(ended_trial, trial_end[ended_trial], EV_TRIAL_END, never_converts[ended_trial].astype(float))
    churn = evolves & (rng.random(ns) < 0.17) & (activated + 30 * DAY < end - 1)
    churn_at = np.full(ns, end, dtype=np.int64)
    churn_at[churn] = _uniform_int(rng, activated[churn] + 30 * DAY, end - 1)
    churn_at[churn] = month_boundary(churn_at[churn], np.full(churn.sum(), end), 0.25)
    leaves = (rng.random(ns) < 0.4).astype(float)  # 1: the last row is simply closed; 0: a canceled row opens
    add(churn, churn_at[churn], EV_CHURN, leaves[churn])
    react_at = churn_at + _uniform_int(rng, 60 * DAY, 240 * DAY, ns)
    reacts = churn & (rng.random(ns) < 0.45) & (react_at < end - 1)
    add(reacts, react_at[reacts], EV_REACT)
    active_end = np.where(churn, churn_at, end)

    pauses = evolves & (rng.random(ns) < 0.04) & (active_end - activated > 80 * DAY)
    pause_at = np.full(ns, end + DAY, dtype=np.int64)
    resume_at = np.full(ns, end + DAY, dtype=np.int64)
    pause_at[pauses] = _uniform_int(rng, activated[pauses] + DAY, active_end[pauses] - 65 * DAY)
    resume_at[pauses] = pause_at[pauses] + _uniform_int(rng, 30 * DAY, 61 * DAY, int(pauses.sum()))
    add(pauses, pause_at[pauses], EV_PAUSE)
    add(pauses, resume_at[pauses], EV_RESUME)

    def during(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = np.flatnonzero(mask)
        times = _uniform_int(rng, activated[idx] + 1, active_end[idx] - 1)
        return idx, month_boundary(times, active_end[idx], 0.15)

    limit_now = cat.seat_limit[family, tier]
    fast = (evolves & ~churn & (family == 0) & (activated < end - 35 * DAY) & (quantity >= 5)
            & ((tier == 4) | (quantity * 1.6 <= limit_now)) & (rng.random(ns) < 0.13))
    idx, times = during(evolves & (rng.random(ns) < 0.24) & (tier < cat.max_tier[family]))
    add(idx, times, EV_UPGRADE)
    idx, times = during(evolves & ~fast & (rng.random(ns) < 0.09) & (tier > 1))
    add(idx, times, EV_DOWNGRADE)
    seat_changes = np.where(evolves & (family == 0) & (rng.random(ns) < 0.62),
                            rng.choice(3, ns, p=(0.6, 0.3, 0.1)) + 1, 0)
    seat_sub = np.repeat(np.arange(ns), seat_changes)
    seat_times = month_boundary(_uniform_int(rng, activated[seat_sub] + 1, active_end[seat_sub] - 1),
                                active_end[seat_sub], 0.15)
    up = rng.random(len(seat_sub)) < 0.8
    add(seat_sub, seat_times, EV_SEATS,
        np.where(up, rng.uniform(1.1, 1.6, len(seat_sub)), rng.uniform(0.6, 0.9, len(seat_sub))))
    idx, times = during(evolves & (rng.random(ns) < 0.10))
    add(idx, times, EV_PRICE, rng.uniform(1.05, 1.15, len(idx)))
    fast_idx = np.flatnonzero(fast)
    add(fast_idx, end - _uniform_int(rng, 2 * DAY, 25 * DAY, len(fast_idx)), EV_SEATS,
        rng.uniform(1.3, 1.6, len(fast_idx)))

    sub = np.concatenate(ev_sub)
    when = np.concatenate(ev_time)
    kind = np.concatenate(ev_type)
    par = np.concatenate(ev_par)
    # plan changes inside a pause window are dropped
    inside = (when > pause_at[sub]) & (when < resume_at[sub]) & (kind != EV_RESUME)
    sub, when, kind, par = sub[~inside], when[~inside], kind[~inside], par[~inside]
    order = np.lexsort((kind, when, sub))
    sub, when, kind, par = sub[order], when[order], kind[order], par[order]
    # ties within a subscription move the later event by a second so each row has a positive length
    same = np.zeros(len(sub), dtype=bool)
    same[1:] = (sub[1:] == sub[:-1]) & (when[1:] == when[:-1])
    run_start = np.maximum.accumulate(np.where(~same, np.arange(len(sub)), 0))
    when = when + (np.arange(len(sub)) - run_start)
    per_sub = np.bincount(sub, minlength=ns)
    pos = _group_pos(per_sub)
    width = int(per_sub.max()) if ns else 0
    grid_type = np.full((ns, width), -1, dtype=np.int64)
    grid_time = np.zeros((ns, width), dtype=np.int64)
    grid_par = np.zeros((ns, width))
    grid_type[sub, pos] = kind
    grid_time[sub, pos] = when
    grid_par[sub, pos] = par

    # replay the events slot by slot (vectorised over subscriptions)
    status = np.where(trial, ST_TRIALING, ST_ACTIVE)
    price_factor = np.ones(ns)
    valid_from = start.copy()
    since = start.copy()
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("sub", "from", "to", "tier", "qty", "pf", "status")}

    def emit(mask: np.ndarray, to: np.ndarray) -> None:
        out["sub"].append(np.flatnonzero(mask))
        out["from"].append(valid_from[mask])
        out["to"].append(to[mask])
        out["tier"].append(tier[mask])
        out["qty"].append(quantity[mask])
        out["pf"].append(price_factor[mask])
        out["status"].append(status[mask])

    for k in range(width):
        e, t, p = grid_type[:, k], grid_time[:, k], grid_par[:, k]
        new_tier, new_qty, new_pf, new_status = tier.copy(), quantity.copy(), price_factor.copy(), status.copy()
        m = e == EV_UPGRADE
        new_tier[m] = np.minimum(tier[m] + 1, cat.max_tier[family[m]])
        m = e == EV_DOWNGRADE
        new_tier[m] = np.maximum(tier[m] - 1, 1)
        new_qty[m] = np.minimum(quantity[m], cat.seat_limit[family[m], new_tier[m]])
        m = e == EV_SEATS
        new_qty[m] = np.clip(np.round(quantity[m] * p[m]), 1, cat.seat_limit[family[m], tier[m]])
        m = e == EV_PRICE
        new_pf[m] = price_factor[m] * p[m]
        m = e == EV_TRIAL_END
        new_status[m] = np.where(p[m] > 0, ST_CANCELED, ST_ACTIVE)
        new_status[e == EV_PAUSE] = ST_PAUSED
        new_status[(e == EV_RESUME) | (e == EV_REACT)] = ST_ACTIVE
        m = e == EV_CHURN
        new_status[m] = np.where(p[m] > 0, ST_ENDED, ST_CANCELED)
        changed = (e >= 0) & ((new_tier != tier) | (new_qty != quantity) | (new_pf != price_factor)
                              | (new_status != status))
        emit(changed & (status != ST_ENDED), t)
        valid_from = np.where(changed, t, valid_from)
        since = np.where(e == EV_REACT, t, since)
        since = np.where(e == EV_RESUME, np.maximum(since, t), since)
        tier, quantity, price_factor, status = (np.where(changed, a, b) for a, b in (
            (new_tier, tier), (new_qty, quantity), (new_pf, price_factor), (new_status, status)))
    emit(status != ST_ENDED, np.full(ns, -1, dtype=np.int64))

    row_sub = np.concatenate(out["sub"])
    row_from = np.concatenate(out["from"])
    row_to = np.concatenate(out["to"])
    row_tier = np.concatenate(out["tier"])
    row_qty = np.concatenate(out["qty"])
    row_pf = np.concatenate(out["pf"])
    row_status = np.concatenate(out["status"])
    row_plan = _plan_index(family[row_sub], row_tier, period[row_sub])
    sub_currency = cus.currency[subscriber]
    start_rate = cat.rates[sub_currency, cat.day(start)]
    row_price = cat.plan_usd[row_plan] * row_pf / start_rate[row_sub]

    # add-ons: separate kind=addon lines of the same subscription, closed when it churns
    has_addon = evolves & ~pauses & (rng.random(ns) < 0.29)
    a_sub, a_from = during(has_addon)
    a_product = rng.integers(len(cat.addons), size=len(a_sub))
    max_units = np.array([u for _, _, u in ADDONS])[a_product]
    a_qty = 1 + (rng.random(len(a_sub)) * max_units).astype(np.int64)
    a_to = np.where(churn[a_sub], churn_at[a_sub], -1)
    a_price = (cat.product_usd[cat.addons[a_product]] * np.where(period[a_sub] == 1, ANNUAL_FACTOR, 1)
               / start_rate[a_sub])

    n_plan = len(row_sub)
    all_sub = np.concatenate([row_sub, a_sub])
    all_from = np.concatenate([row_from, a_from])
    all_to = np.concatenate([row_to, a_to])
    is_addon = np.arange(len(all_sub)) >= n_plan
    order = np.lexsort((is_addon, all_from, all_sub))
    all_sub, all_from, all_to, is_addon = all_sub[order], all_from[order], all_to[order], is_addon[order]
    plan_pick = np.where(is_addon, 0, order)  # index into plan rows (valid where not addon)
    addon_pick = np.where(is_addon, order - n_plan, 0)
    currency = sub_currency[all_sub]
    price = np.where(is_addon, a_price[addon_pick] if len(a_sub) else 0.0,
                     row_price[plan_pick] if n_plan else 0.0)
    quantity_out = np.where(is_addon, a_qty[addon_pick] if len(a_sub) else 0, row_qty[plan_pick] if n_plan else 0)
    status_out = np.where(is_addon, ST_ACTIVE, row_status[plan_pick] if n_plan else 0)
    n_rows = len(all_sub)
    item_ids = _seq_ids("si_", counters.items + 1, n_rows)
    counters.items += n_rows
    table = _table("subscription_items", {
        "item_id": item_ids,
        "subscription_id": _ids("sub_", cus.number[subscriber]).take(pa.array(all_sub)),
        "customer_id": _cat(cus.ids, subscriber[all_sub]),
        "kind": _cat(KINDS, is_addon.astype(np.int64)),
        "plan_id": _cat(cat.plan_ids, row_plan[plan_pick] if n_plan else plan_pick, ~is_addon),
        "product_id": _cat(cat.product_ids, cat.addons[a_product[addon_pick]] if len(a_sub) else addon_pick,
                           is_addon),
        "quantity": pa.array(quantity_out.astype(np.int32)),
        "unit_price": _money(_round_price(price, currency), CURRENCY_DECIMALS[currency]),
        "billing_period": _cat(PERIODS, period[all_sub]),
        "currency": _cat(CURRENCIES, currency),
        "status": _cat(SUB_STATUSES, status_out),
        "valid_from": _ts(all_from),
        "valid_to": _ts(np.maximum(all_to, 0), all_to >= 0),
    })
    live = (status == ST_ACTIVE) | (status == ST_TRIALING)
    accounts = _Accounts(
        customer=subscriber[live], family=family[live], tier=tier[live], quantity=quantity[live],
        plan=_plan_index(family, tier, period)[live], since=since[live], fast_grower=fast[live],
    )
    return table, accounts


def _usage(cat: _Catalogue, rng: np.random.Generator, cus: _Customers, acc: _Accounts,
           counters: _Counters) -> pa.Table:
    end = cat.end
    na = len(acc.customer)
    last_day = end // DAY - 1
    first_day = np.maximum(last_day - USAGE_DAYS + 1, -(-acc.since // DAY))
    days = np.maximum(last_day - first_day + 1, 0)
    seat_limit = cat.plan_seat_limit[acc.plan]
    storage_limit = cat.plan_storage[acc.plan]
    api_limit = cat.plan_api[acc.plan]

    # ~10 % of accounts run near (>= 90 %) a limit on one dimension that has a limit
    finite = np.isfinite(np.column_stack([seat_limit, storage_limit, api_limit]))
    near = (rng.random(na) < 0.11) & finite.any(axis=1) & ~acc.fast_grower
    near_dim = np.argmax(rng.random((na, 3)) * finite, axis=1)
    near_seats, near_storage, near_api = (near & (near_dim == d) for d in range(3))

    seats_end = np.where(acc.family == 0, acc.quantity * rng.uniform(0.7, 1.0, na),
                         np.where(np.isfinite(seat_limit), seat_limit * rng.uniform(0.3, 0.85, na),
                                  rng.uniform(8, 60, na)))
    seats_end = np.where(acc.fast_grower, acc.quantity * rng.uniform(0.92, 1.0, na), seats_end)
    seats_end = np.where(near_seats, seat_limit * rng.uniform(0.9, 1.0, na), seats_end)
    seats_end = np.maximum(np.minimum(seats_end, seat_limit), 1.0)
    growth = np.where(acc.fast_grower, rng.uniform(0.3, 0.6, na), 0.0)
    drift = np.where(near_seats | acc.fast_grower, 0.0, rng.uniform(-0.05, 0.10, na))
    storage_end = np.where(np.isfinite(storage_limit), storage_limit * rng.uniform(0.05, 0.75, na),
                           acc.quantity * rng.uniform(2.0, 15.0, na))
    storage_end = np.where(near_storage, storage_limit * rng.uniform(0.9, 0.99, na), storage_end)
    storage_growth = rng.uniform(0.0, 0.25, na)
    api_daily = np.where(np.isfinite(api_limit), api_limit / 30 * rng.uniform(0.05, 0.6, na),
                         acc.quantity * rng.uniform(100, 2_000, na))
    api_daily = np.where(near_api, api_limit / 30 * rng.uniform(0.92, 1.0, na), api_daily)

    # one api_calls count per day (timestamped 00:00), seats every 3rd day, storage every 4th
    account = np.repeat(np.arange(na), days)
    day = first_day[account] + _group_pos(days)
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    api_value = np.round(api_daily[account] * np.where(weekday >= 5, 0.5, 1.2) * rng.lognormal(0, 0.12, len(day)))
    api_time = day * DAY
    seat_rows = np.flatnonzero((day + account) % 3 == 0)
    storage_rows = np.flatnonzero((day + account * 7) % 4 == 0)

    s_acc = account[seat_rows]
    s_time = day[seat_rows] * DAY + _uniform_int(rng, 6 * HOUR, 20 * HOUR, len(seat_rows))
    age = (end - s_time) / DAY  # days before the end
    ramp = np.where(age >= 30, 1.0 / (1.0 + growth[s_acc]),
                    1.0 / (1.0 + growth[s_acc]) + (1.0 - 1.0 / (1.0 + growth[s_acc])) * (30 - age) / 30)
    # +-1 seat of day-to-day noise, only on accounts large enough for it not to look like growth
    quiet = acc.fast_grower | near_seats | (seats_end < 20)
    noise = np.where(quiet[s_acc], 0, rng.choice([-1, 0, 0, 0, 1], len(s_acc)))
    s_value = np.round(seats_end[s_acc] * ramp * (1.0 - drift[s_acc] * age / USAGE_DAYS)) + noise
    s_value = np.clip(s_value, 1.0, seat_limit[s_acc])

    g_acc = account[storage_rows]
    g_time = day[storage_rows] * DAY + _uniform_int(rng, 0, DAY, len(storage_rows))
    g_age = (end - g_time) / DAY
    g_value = np.maximum(np.round(storage_end[g_acc] * (1.0 - storage_growth[g_acc] * g_age / USAGE_DAYS), 1), 0.1)

    # feature_blocked: ~15 % of accounts below their family's top tier hit a gated feature 5-40 times
    top = cat.max_tier[acc.family]
    blocked = (rng.random(na) < 0.18) & (acc.tier < top) & (days > 0)
    n_blocked = np.where(blocked, rng.integers(5, 41, na), 0)
    b_acc = np.repeat(np.arange(na), n_blocked)
    jump = np.where((rng.random(na) < 0.25) & (acc.tier + 2 <= top), 2, 1)
    b_tier = (acc.tier + jump)[b_acc]
    b_fam = acc.family[b_acc]
    b_feature = cat.feature_start[b_fam, b_tier] + (rng.random(len(b_acc)) * cat.feature_count[b_fam, b_tier]).astype(
        np.int64)
    window_start = first_day[b_acc] * DAY
    recent_start = np.maximum(window_start, end - 30 * DAY)
    b_time = np.where(rng.random(len(b_acc)) < 0.6, _uniform_int(rng, recent_start, end),
                      _uniform_int(rng, window_start, end))

    n_api, n_seat, n_storage, n_block = len(day), len(seat_rows), len(storage_rows), len(b_acc)
    n = n_api + n_seat + n_storage + n_block
    who = np.concatenate([account, s_acc, g_acc, b_acc])
    metric = np.repeat(np.array([2, 0, 1, 3]), [n_api, n_seat, n_storage, n_block])
    feature = np.concatenate([np.zeros(n - n_block, dtype=np.int64), b_feature])
    event_ids = _seq_ids("ev_", counters.events + 1, n)
    counters.events += n
    return _table("usage_events", {
        "event_id": event_ids,
        "customer_id": _cat(cus.ids, acc.customer[who]),
        "occurred_at": _ts(np.concatenate([api_time, s_time, g_time, b_time])),
        "metric": _cat(METRICS, metric),
        "value": pa.array(np.concatenate([api_value, s_value, g_value, np.ones(n_block)])),
        "feature": _cat(cat.features, feature, metric == 3),
    })


def _chunk(cat: _Catalogue, seed: int, index: int, first: int, n: int, counters: _Counters) -> _Chunk:
    rng = _rng(seed, 100, index)
    cus, customers = _customers(cat, rng, first, n)
    contacts, old_contacts, n_contacts = _contacts(cat, rng, cus)
    orders, items, old_orders, n_orders = _orders(cat, rng, cus, counters)
    subscriptions, accounts = _subscriptions(cat, rng, cus, counters)
    usage = _usage(cat, rng, cus, accounts, counters)
    return _Chunk(
        tables={"customers": customers, "contacts": contacts, "orders": orders, "order_items": items,
                "subscription_items": subscriptions, "usage_events": usage},
        superseded={"contacts": old_contacts, "orders": old_orders},
        current_rows={"contacts": n_contacts, "orders": n_orders},
    )


# ----------------------------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------------------------


def _csv_ready(name: str, table: pa.Table) -> pa.Table:
    """Timestamps as ISO 8601 text (a few at +02:00), dictionaries decoded; the rest as pyarrow writes it."""
    columns = []
    for column_name, column in zip(table.column_names, table.columns, strict=True):
        column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        if pa.types.is_timestamp(column.type):
            seconds = column.cast(pa.timestamp("s"))
            text = pc.strftime(seconds, format=ISO_Z)
            if column_name in OFFSET_COLUMNS.get(name, ()):
                epoch = pc.cast(seconds, pa.int64()).to_numpy(zero_copy_only=False)
                offset = np.nan_to_num(epoch, nan=0).astype(np.int64) % 97 == 7
                shifted = pc.strftime(pc.add(seconds, pa.scalar(2 * HOUR, pa.duration("s"))),
                                      format="%Y-%m-%dT%H:%M:%S+02:00")
                text = pc.if_else(pa.array(offset), shifted, text)
            column = text
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def _write_table(name: str, table: pa.Table, path: Path, fmt: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    if fmt == "parquet":
        keys = TABLES_BY_NAME[name].key
        dictionary = [c for c in table.column_names if c not in keys or len(keys) > 1]
        pq.write_table(table, tmp, use_dictionary=dictionary, **PARQUET_OPTIONS)
    else:
        pacsv.write_csv(_csv_ready(name, table), tmp)
    tmp.replace(path)


def _prepare(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in TABLE_NAMES:
        for entry in (out_dir / name, out_dir / f"{name}.parquet", out_dir / f"{name}.csv"):
            if entry.is_dir():
                shutil.rmtree(entry)
            elif entry.exists():
                entry.unlink()
    (out_dir / "_generation.json").unlink(missing_ok=True)


# ----------------------------------------------------------------------------------------------------------------
# Dirty rows: each breaks exactly one rule and is otherwise valid
# ----------------------------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime(ISO_Z)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _text_rows(table: pa.Table, count: int) -> list[dict[str, str]]:
    part = table.slice(0, count)
    return [{k: _text(v) for k, v in row.items()} for row in part.to_pylist()]


BAD_DATES = ("not-a-date", "yesterday", "2024-13-45", "tbd", "2024-02-30", "soon", "never", "someday", "31-31-31",
             "last week")
BAD_TIMESTAMPS = ("not-a-timestamp", "yesterday", "2025-13-40T00:00:00Z", "soon", "tbd", "never", "last week",
                  "2024-02-30T25:61:00Z", "someday", "later")
BAD_NUMBERS = ("abc", "one", "seven", "1.2.3", "x1", "lots", "ten", "twelve", "1e", "--5")
BAD_BOOLEANS = ("maybe", "perhaps", "unknown", "2", "ja", "oui", "si", "nope", "truthy", "-")
BAD_EMAILS = ("bob at example.com", "alice@", "@example.com", "no-at-sign.example.com", "two@@example.com",
              "space in@example.com", "carol@example", "dave@@", "eve@ example.com", "plainaddress")


def _plant(cat: _Catalogue, seed: int, samples: dict[str, pa.Table], n_customers: int
           ) -> dict[str, list[tuple[Rule, dict[str, str]]]]:
    rng = _rng(seed, 3)
    planted: dict[str, list[tuple[Rule, dict[str, str]]]] = {name: [] for name in TABLE_NAMES}
    rows = {name: _text_rows(table, 2_000) for name, table in samples.items()}
    rows["fx_rates"] = _text_rows(cat.fx_table, len(cat.fx_table))
    rows["products"] = _text_rows(cat.products_table, len(cat.products_table))
    rows["plans"] = _text_rows(cat.plans_table, len(cat.plans_table))
    fresh = {"n": 0}

    def count() -> int:
        return int(rng.integers(3, 8))

    def pick(name: str, where: Callable[[dict[str, str]], bool] = lambda r: True, k: int = 1
             ) -> list[dict[str, str]]:
        candidates = [r for r in rows[name] if where(r)]
        chosen = rng.choice(len(candidates), min(k, len(candidates)), replace=False)
        return [dict(candidates[int(i)]) for i in chosen]

    def new_key() -> int:
        fresh["n"] += 1
        return fresh["n"]

    def plant(name: str, rule: Rule, change: Callable[[dict[str, str], int], None],
              where: Callable[[dict[str, str]], bool] = lambda r: True, distinct: bool = False) -> None:
        k = count()
        if not any(where(r) for r in rows[name]):
            return  # nothing to base the row on (only at tiny scales)
        bases = pick(name, where, k) if distinct else [pick(name, where)[0] for _ in range(k)]
        for i, row in enumerate(bases):
            change(row, i)
            planted[name].append((rule, row))

    def setter(**values: str) -> Callable[[dict[str, str], int], None]:
        def change(row: dict[str, str], i: int) -> None:
            row.update(values)
        return change

    def with_key(table: str, /, **values: Any) -> Callable[[dict[str, str], int], None]:
        """Give the row a fresh key that exists nowhere else, then set `values` (callables get the index)."""
        def change(row: dict[str, str], i: int) -> None:
            n = new_key()
            if table == "fx_rates":
                row["rate_date"] = date.fromordinal(date(1970, 1, 1).toordinal() + cat.fx_first_day - n).isoformat()
            elif table == "order_items":
                row["line_number"] = str(100 + n)
            else:
                key = TABLES_BY_NAME[table].key[0]
                prefix = {"customer_id": "cus_x", "product_id": "prd_x", "plan_id": "pln_x", "contact_id": "ct_x",
                          "order_id": "ord_x", "item_id": "si_x", "event_id": "ev_x"}[key]
                row[key] = f"{prefix}{n:0{12 - len(prefix)}d}"
            for column, value in values.items():
                row[column] = value(i) if callable(value) else value
        return change

    def unknown_customer(i: int) -> str:
        return f"cus_z{n_customers + i:07d}"

    # fx_rates
    plant("fx_rates", Rule.MISSING_KEY, with_key("fx_rates", currency=""))
    plant("fx_rates", Rule.INVALID_NUMBER, with_key("fx_rates", usd_per_unit=lambda i: BAD_NUMBERS[i]))
    plant("fx_rates", Rule.NEGATIVE_VALUE, with_key("fx_rates", usd_per_unit="-1.0850"))
    plant("fx_rates", Rule.UNPARSEABLE_TIMESTAMP, lambda row, i: row.update(rate_date=BAD_DATES[i]), distinct=True)
    plant("fx_rates", Rule.REPEATED_KEY,
          lambda row, i: row.update(usd_per_unit=format(Decimal(row["usd_per_unit"]) * Decimal("1.01"), "f")),
          distinct=True)

    # customers
    plant("customers", Rule.MISSING_KEY, setter(customer_id=""))
    plant("customers", Rule.MISSING_VALUE, with_key("customers", name=""))
    plant("customers", Rule.INVALID_ENUM, with_key("customers", segment=lambda i: (
        "startup", "consumer", "government", "partner", "nonprofit", "reseller", "unknown")[i]))
    plant("customers", Rule.INVALID_COUNTRY, with_key("customers", country=lambda i: (
        "Germany", "USA", "France", "United Kingdom", "Japan", "Deutschland", "Spain")[i]))
    plant("customers", Rule.UNPARSEABLE_TIMESTAMP, with_key("customers", created_at=lambda i: BAD_TIMESTAMPS[i]))
    plant("customers", Rule.REPEATED_KEY, lambda row, i: row.update(name=row["name"] + " (duplicate)"),
          distinct=True)

    # products
    plant("products", Rule.MISSING_KEY, setter(product_id=""))
    plant("products", Rule.MISSING_VALUE, with_key("products", name=""))
    plant("products", Rule.INVALID_NUMBER, with_key("products", list_price=lambda i: BAD_NUMBERS[i]))
    plant("products", Rule.NEGATIVE_VALUE, with_key("products", list_price="-19.99"))
    plant("products", Rule.INVALID_BOOLEAN, with_key("products", is_active=lambda i: BAD_BOOLEANS[i]))
    plant("products", Rule.UNKNOWN_CURRENCY, with_key("products", currency=lambda i: ("XYZ", "ABC", "QQQ")[i % 3]))
    plant("products", Rule.REPEATED_KEY, lambda row, i: row.update(name=row["name"] + " v2"), distinct=True)

    # plans
    plant("plans", Rule.MISSING_KEY, setter(plan_id=""))
    plant("plans", Rule.MISSING_VALUE, with_key("plans", name=""))
    plant("plans", Rule.INVALID_ENUM, with_key("plans", billing_period=lambda i: ("weekly", "daily", "quarter")[i % 3]))
    plant("plans", Rule.INVALID_NUMBER, with_key("plans", seat_limit=lambda i: BAD_NUMBERS[i]))
    plant("plans", Rule.NEGATIVE_VALUE, with_key("plans", price="-8.00"))
    plant("plans", Rule.INVALID_BOOLEAN, with_key("plans", per_seat=lambda i: BAD_BOOLEANS[i]))
    plant("plans", Rule.UNKNOWN_CURRENCY, with_key("plans", currency="XYZ"))
    plant("plans", Rule.REPEATED_KEY, lambda row, i: row.update(price="999.00"), distinct=True)

    # contacts (samples are latest versions)
    def contact(**values: Any) -> Callable[[dict[str, str], int], None]:
        return with_key("contacts", is_primary="false", **values)

    plant("contacts", Rule.MISSING_KEY, setter(contact_id="", is_primary="false"))
    plant("contacts", Rule.MALFORMED_EMAIL, contact(email=lambda i: BAD_EMAILS[i]))
    plant("contacts", Rule.MISSING_VALUE, contact(email=""))
    plant("contacts", Rule.UNKNOWN_REFERENCE, contact(customer_id=unknown_customer))
    plant("contacts", Rule.INVALID_BOOLEAN, contact(email_opt_in=lambda i: BAD_BOOLEANS[i]))
    plant("contacts", Rule.UNPARSEABLE_TIMESTAMP, contact(updated_at=lambda i: BAD_TIMESTAMPS[i]))
    plant("contacts", Rule.CONFLICTING_VERSION, lambda row, i: row.update(email="changed." + row["email"]),
          distinct=True)

    # orders (samples are latest versions); planted headers get no order_items
    plant("orders", Rule.MISSING_KEY, setter(order_id=""))
    plant("orders", Rule.UNKNOWN_CURRENCY, with_key("orders", currency=lambda i: ("XYZ", "ABC", "QQQ")[i % 3]))
    plant("orders", Rule.UNPARSEABLE_TIMESTAMP, with_key(
        "orders", ordered_at=lambda i: BAD_TIMESTAMPS[i], status="placed", delivered_at=""))
    plant("orders", Rule.UNKNOWN_REFERENCE, with_key("orders", customer_id=unknown_customer))
    plant("orders", Rule.INVALID_ENUM, with_key("orders", status=lambda i: ("lost", "stolen", "pending")[i % 3]))

    def delivered_before_ordered(row: dict[str, str], i: int) -> None:
        with_key("orders")(row, i)
        ordered = datetime.strptime(row["ordered_at"], ISO_Z)
        delivered = ordered - timedelta(days=2)
        row.update(status="delivered", delivered_at=delivered.strftime(ISO_Z), updated_at=row["ordered_at"])

    plant("orders", Rule.INVALID_RANGE, delivered_before_ordered)
    plant("orders", Rule.CONFLICTING_VERSION, setter(status="returned"), where=lambda r: r["status"] == "delivered",
          distinct=True)

    # order_items: attach to existing clean orders under unused line numbers
    plant("order_items", Rule.NEGATIVE_VALUE, with_key("order_items", quantity="-1"))
    plant("order_items", Rule.INVALID_NUMBER, with_key("order_items", quantity=lambda i: ("2.5", "two", "1.5")[i % 3]))
    plant("order_items", Rule.UNKNOWN_REFERENCE, with_key("order_items", order_id=lambda i: f"ord_y{i:07d}"))
    plant("order_items", Rule.UNKNOWN_REFERENCE, with_key("order_items", product_id=lambda i: f"prd_y{i:07d}"))
    plant("order_items", Rule.REPEATED_KEY, lambda row, i: row.update(quantity=str(int(row["quantity"]) + 1)),
          distinct=True)

    # subscription_items
    def item(**values: Any) -> Callable[[dict[str, str], int], None]:
        def change(row: dict[str, str], i: int) -> None:
            with_key("subscription_items", **values)(row, i)
            row["subscription_id"] = f"sub_x{new_key():07d}"
        return change

    def plan_row(r: dict[str, str]) -> bool:
        return r["kind"] == "plan"

    plant("subscription_items", Rule.MISSING_KEY, setter(item_id=""), where=plan_row)
    plant("subscription_items", Rule.MISSING_VALUE, item(plan_id=""), where=plan_row)
    plant("subscription_items", Rule.UNKNOWN_REFERENCE, item(plan_id="no-such-plan"), where=plan_row)

    def ends_before_start(row: dict[str, str], i: int) -> None:
        item()(row, i)
        start = datetime.strptime(row["valid_from"], ISO_Z)
        row["valid_to"] = (start - timedelta(days=1)).strftime(ISO_Z)

    plant("subscription_items", Rule.INVALID_RANGE, ends_before_start, where=plan_row)
    plant("subscription_items", Rule.NEGATIVE_VALUE, item(quantity="-2"), where=plan_row)
    plant("subscription_items", Rule.INVALID_NUMBER, item(quantity=lambda i: BAD_NUMBERS[i]), where=plan_row)
    plant("subscription_items", Rule.INVALID_ENUM, item(status=lambda i: ("expired", "deleted", "past_due")[i % 3]),
          where=plan_row)
    plant("subscription_items", Rule.UNPARSEABLE_TIMESTAMP,
          item(valid_from=lambda i: BAD_TIMESTAMPS[i], valid_to=""), where=plan_row)
    plant("subscription_items", Rule.REPEATED_KEY, lambda row, i: row.update(quantity=str(int(row["quantity"]) + 3)),
          distinct=True)

    # usage_events
    plant("usage_events", Rule.MISSING_KEY, setter(event_id=""))
    plant("usage_events", Rule.MISSING_VALUE, with_key("usage_events", metric="feature_blocked", value="1", feature=""))
    plant("usage_events", Rule.INVALID_ENUM,
          with_key("usage_events", metric=lambda i: ("cpu", "memory", "logins")[i % 3], feature=""))
    plant("usage_events", Rule.NEGATIVE_VALUE, with_key("usage_events", value="-5"))
    plant("usage_events", Rule.INVALID_NUMBER, with_key("usage_events", value=lambda i: BAD_NUMBERS[i]))
    plant("usage_events", Rule.UNKNOWN_REFERENCE, with_key("usage_events", customer_id=unknown_customer))
    plant("usage_events", Rule.UNPARSEABLE_TIMESTAMP, with_key("usage_events", occurred_at=lambda i: BAD_TIMESTAMPS[i]))
    plant("usage_events", Rule.REPEATED_KEY, lambda row, i: row.update(value="1"), distinct=True)
    return planted


def _write_dirty(path: Path, name: str, rows: list[tuple[Rule, dict[str, str]]]) -> None:
    columns = TABLES_BY_NAME[name].column_names
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for _rule, row in rows:
            writer.writerow([row[c] for c in columns])


# ----------------------------------------------------------------------------------------------------------------
# Entry point
# ----------------------------------------------------------------------------------------------------------------


def generate(out_dir: Path, *, scale: float = 1.0, seed: int = 0, dirty: bool = False,
             end_date: date | None = None, fmt: str = "parquet",
             progress: Callable[[str, int], None] | None = None) -> GenerationReport:
    """Write a sample landing directory to `out_dir` (its table entries are replaced) and return the report.

    scale 1 is about 10k customers, 40k orders, 100k order lines and 1M usage events; sizes grow linearly.
    `progress(table, rows_so_far)` is called after each part is generated.
    """
    started = time.perf_counter()
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be 'parquet' or 'csv', not {fmt!r}")
    if not scale > 0:
        raise ValueError("scale must be positive")
    out_dir = Path(out_dir)
    end_date = end_date or datetime.now(UTC).date()
    n_customers = max(1, round(CUSTOMERS_PER_SCALE * scale))
    cat = _build_catalogue(seed, end_date)
    _prepare(out_dir)
    rows = dict.fromkeys(TABLE_NAMES, 0)
    superseded = {"contacts": 0, "orders": 0}

    def report_progress(name: str) -> None:
        if progress is not None:
            progress(name, rows[name])

    for name in SMALL_TABLES:
        table = getattr(cat, {"fx_rates": "fx_table", "products": "products_table", "plans": "plans_table"}[name])
        if dirty:
            (out_dir / name).mkdir()
            _write_table(name, table, out_dir / name / f"part-00000.{fmt}", fmt)
        else:
            _write_table(name, table, out_dir / f"{name}.{fmt}", fmt)
        rows[name] += table.num_rows
        report_progress(name)
    for name in CHUNKED_TABLES:
        (out_dir / name).mkdir()

    counters = _Counters()
    samples: dict[str, pa.Table] = {}
    pending: list[list[Future[None]]] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for index, first in enumerate(range(0, n_customers, CHUNK_CUSTOMERS)):
            while len(pending) >= 2:  # bound memory: at most two chunks waiting to be written
                for future in pending.pop(0):
                    future.result()
            chunk = _chunk(cat, seed, index, first, min(CHUNK_CUSTOMERS, n_customers - first), counters)
            if index == 0 and dirty:
                for name, table in chunk.tables.items():
                    keep = min(chunk.current_rows.get(name, table.num_rows), 2_000)
                    samples[name] = table.slice(0, keep).take(pa.array(np.arange(keep)))
            futures = []
            for name, table in chunk.tables.items():
                path = out_dir / name / f"part-{index:05d}.{fmt}"
                futures.append(pool.submit(_write_table, name, table, path, fmt))
                rows[name] += table.num_rows
            for name, count in chunk.superseded.items():
                superseded[name] += count
            pending.append(futures)
            del chunk
            for name in CHUNKED_TABLES:
                report_progress(name)
        for futures in pending:
            for future in futures:
                future.result()

    planted: dict[str, dict[str, int]] = {}
    if dirty:
        for name, planted_rows in _plant(cat, seed, samples, n_customers).items():
            _write_dirty(out_dir / name / "part-dirty.csv", name, planted_rows)
            rows[name] += len(planted_rows)
            counts: dict[str, int] = {}
            for rule, _row in planted_rows:
                counts[rule.value] = counts.get(rule.value, 0) + 1
            planted[name] = counts
    report = GenerationReport(out_dir=out_dir, end_date=end_date, rows=rows, superseded=superseded,
                              planted=planted, seconds=0.0)
    (out_dir / "_generation.json").write_text(
        report.to_json(scale=scale, seed=seed, dirty=dirty, fmt=fmt), encoding="utf-8")
    report.seconds = round(time.perf_counter() - started, 3)
    return report

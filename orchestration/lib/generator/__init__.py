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

Modules:

- `catalogue/`: what does not grow with scale: constants, name lists, currencies and fx_rates, products, plans
- `customers`, `contacts`, `orders` (orders and order_items), `subscriptions` (subscription_items, drawing on
  `subscription_events` and `subscription_history`), `usage` (usage_events): one chunk's rows of each table
- `chunks`: one chunk of customers, its tables drawn from one random stream in a fixed order
- `dirty`: the planted contract breaks; `writer`: the layout and the Parquet / CSV files; `landing`: `generate()`
- `effect`: a known effect of the cross-sell and upsell programmes, planted after a send date (`PlantedEffect`);
  `holdout`: the programmes' holdout assignment, as the warehouse computes it
- `arrays`, `ids`, `tables`: small numpy / pyarrow helpers
"""

from orchestration.lib.generator.catalogue.names import AWKWARD_NAMES
from orchestration.lib.generator.effect import PlantedEffect
from orchestration.lib.generator.landing import CHUNK_CUSTOMERS, generate
from orchestration.lib.generator.report import GenerationReport
from orchestration.lib.generator.writer import SMALL_TABLES

__all__ = ["AWKWARD_NAMES", "CHUNK_CUSTOMERS", "SMALL_TABLES", "GenerationReport", "PlantedEffect", "generate"]

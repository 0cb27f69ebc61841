"""The catalogue: everything that does not grow with scale (fx rates, products, plans) and the lists behind it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyarrow as pa

from orchestration.lib.generator.catalogue.constants import DAY
from orchestration.lib.generator.catalogue.currencies import EUR, FxRates, build_fx_rates
from orchestration.lib.generator.catalogue.plans import Plans, build_plans
from orchestration.lib.generator.catalogue.products import Products, build_products

__all__ = ["Catalogue", "FxRates", "Plans", "Products", "build_catalogue"]


@dataclass(frozen=True)
class Catalogue:
    """The scale-independent part of a dataset, shared by every chunk of customers."""

    end: int  # exclusive end instant: 00:00 UTC the day after end_date (epoch seconds)
    fx: FxRates
    products: Products
    plans: Plans

    def small_tables(self) -> dict[str, pa.Table]:
        """The tables written whole, one file each: fx_rates, products, plans."""
        return {"fx_rates": self.fx.table, "products": self.products.table, "plans": self.plans.table}


def build_catalogue(seed: int, end_date: date) -> Catalogue:
    """The catalogue for `seed` up to `end_date`; fx rates and products each have their own random stream."""
    end_day = (end_date - date(1970, 1, 1)).days
    fx = build_fx_rates(seed, end_day)
    return Catalogue(end=(end_day + 1) * DAY, fx=fx, products=build_products(seed, fx.latest(EUR)), plans=build_plans())

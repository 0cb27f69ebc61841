"""Currencies and the fx_rates table: a seeded daily random walk per currency against USD."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from orchestration.lib.generator.arrays import money, random_stream
from orchestration.lib.generator.catalogue.constants import DAY, HISTORY_DAYS
from orchestration.lib.generator.tables import contract_table

CURRENCIES = ("USD", "EUR", "GBP", "CAD", "AUD", "JPY")  # index 0 (USD) has no fx_rates rows
USD, EUR = 0, 1
CURRENCY_DECIMALS = np.array([2, 2, 2, 2, 2, 0])
FX_START = np.array([1.0, 1.08, 1.27, 0.74, 0.66, 0.0067])  # USD per unit on the first day
FX_DAILY_VOLATILITY = 0.004  # standard deviation of a day's step in log space
FX_EXTRA_DAYS = 35  # fx history starts a little before the first customer


@dataclass(frozen=True)
class FxRates:
    """One USD rate per currency and day, from `first_day` to end_date."""

    first_day: int  # epoch day of the first fx_rates row
    rates: np.ndarray  # [currency index, day - first_day] -> USD per unit (row 0: USD = 1)
    table: pa.Table  # fx_rates

    def usd_per_unit(self, currency: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        """The rate of each `currency` on the day of each instant."""
        return self.rates[currency, np.asarray(seconds, dtype=np.int64) // DAY - self.first_day]

    def latest(self, currency: int) -> float:
        """The rate of `currency` on end_date."""
        return self.rates[currency, -1]


def build_fx_rates(seed: int, end_day: int) -> FxRates:
    """Rates from a little before the first customer to `end_day` (an epoch day), and their table."""
    first_day = end_day - HISTORY_DAYS - FX_EXTRA_DAYS
    rates = _random_walk(random_stream(seed, 1), end_day - first_day + 1)
    return FxRates(first_day=first_day, rates=rates, table=_fx_rates_table(rates, first_day))


def _random_walk(rng: np.random.Generator, days: int) -> np.ndarray:
    """[currency, day] -> USD per unit: a random walk in log space from FX_START, rounded to 8 places."""
    steps = rng.normal(0.0, FX_DAILY_VOLATILITY, size=(len(CURRENCIES) - 1, days))
    steps[:, 0] = 0.0
    walk = np.exp(np.cumsum(steps, axis=1))
    rates = np.vstack([np.ones(days), FX_START[1:, None] * walk])
    rates[1:] = np.round(rates[1:], 8)
    return rates


def _fx_rates_table(rates: np.ndarray, first_day: int) -> pa.Table:
    """fx_rates: one row per non-USD currency and day."""
    days = rates.shape[1]
    currency = np.repeat(np.arange(1, len(CURRENCIES)), days)
    day = np.tile(np.arange(days), len(CURRENCIES) - 1)
    return contract_table("fx_rates", {
        "currency": pa.array(list(CURRENCIES[1:])).take(pa.array(currency - 1)),
        "rate_date": pa.array((first_day + day).astype(np.int32), pa.int32()).view(pa.date32()),
        "usd_per_unit": money(rates[currency, day], 8, scale=8),
    })


def round_price(values: np.ndarray, currency: np.ndarray) -> np.ndarray:
    """Prices rounded to the decimals of their currency (none for JPY)."""
    factor = 10.0 ** CURRENCY_DECIMALS[currency]
    return np.round(values * factor) / factor

"""The usage_events table: 90 days of seats, storage, API calls and blocked-feature hits per live account."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from orchestration.lib.generator.arrays import (
    concatenate_rows,
    dictionary_column,
    group_positions,
    timestamps,
    uniform_int,
)
from orchestration.lib.generator.catalogue import Catalogue
from orchestration.lib.generator.catalogue.constants import DAY, HOUR
from orchestration.lib.generator.catalogue.plans import WORKSPACE, Plans
from orchestration.lib.generator.customers import Customers
from orchestration.lib.generator.ids import IdSequences
from orchestration.lib.generator.subscriptions import Accounts
from orchestration.lib.generator.tables import contract_table

USAGE_DAYS = 90
METRICS = ("active_seats", "storage_gb", "api_calls", "feature_blocked")
ACTIVE_SEATS, STORAGE_GB, API_CALLS, FEATURE_BLOCKED = range(len(METRICS))
NEAR_LIMIT_SHARE = 0.11  # accounts running at >= 90 % of one of their plan's limits


@dataclass(frozen=True)
class _Limits:
    """Each account's plan limits (inf = unlimited) and whether it runs near one of them."""

    seats: np.ndarray
    storage: np.ndarray
    api: np.ndarray
    near_seats: np.ndarray
    near_storage: np.ndarray
    near_api: np.ndarray


@dataclass(frozen=True)
class _Levels:
    """Where each account's usage stands at the end, and how it moved over the window."""

    seats: np.ndarray
    growth: np.ndarray  # fast growers: seats grew by this share over the last 30 days
    drift: np.ndarray  # slow change in seats over the window
    quiet: np.ndarray  # no day-to-day noise in seats
    storage: np.ndarray
    storage_growth: np.ndarray
    api_daily: np.ndarray


@dataclass(frozen=True)
class _Days:
    """One entry per account and day of its usage window."""

    account: np.ndarray
    day: np.ndarray  # epoch day


@dataclass(frozen=True)
class _Events:
    """Usage events of one or more metrics (one entry an event)."""

    account: np.ndarray
    occurred: np.ndarray
    metric: np.ndarray
    value: np.ndarray
    feature: np.ndarray  # index into the plans' features (feature_blocked only)


def generate_usage_events(catalogue: Catalogue, rng: np.random.Generator, customers: Customers, accounts: Accounts,
                          sequences: IdSequences) -> pa.Table:
    """Daily API calls, seats every 3rd day, storage every 4th, and feature_blocked hits, for each live account
    over the last 90 days (or since its current run of activity began)."""
    end = catalogue.end
    last_day = end // DAY - 1
    first_day = np.maximum(last_day - USAGE_DAYS + 1, -(-accounts.since // DAY))
    days_per_account = np.maximum(last_day - first_day + 1, 0)
    limits = _limits(catalogue.plans, rng, accounts)
    levels = _levels(rng, accounts, limits)
    account = np.repeat(np.arange(len(accounts.customer)), days_per_account)
    days = _Days(account=account, day=first_day[account] + group_positions(days_per_account))
    events = concatenate_rows([
        _api_calls(rng, levels, days),
        _active_seats(end, rng, levels, limits, days),
        _storage(end, rng, levels, days),
        _blocked_features(end, catalogue.plans, rng, accounts, first_day, days_per_account),
    ])
    return contract_table("usage_events", {
        "event_id": sequences.take("ev_", len(events.account)),
        "customer_id": dictionary_column(customers.ids, accounts.customer[events.account]),
        "occurred_at": timestamps(events.occurred),
        "metric": dictionary_column(METRICS, events.metric),
        "value": pa.array(events.value),
        "feature": dictionary_column(catalogue.plans.features, events.feature, events.metric == FEATURE_BLOCKED),
    })


def _limits(plans: Plans, rng: np.random.Generator, accounts: Accounts) -> _Limits:
    """~10 % of accounts run near a limit, on one dimension that has a limit (never a fast grower)."""
    count = len(accounts.customer)
    seats = plans.seat_limit[accounts.plan]
    storage = plans.storage_limit[accounts.plan]
    api = plans.api_limit[accounts.plan]
    finite = np.isfinite(np.column_stack([seats, storage, api]))
    near = (rng.random(count) < NEAR_LIMIT_SHARE) & finite.any(axis=1) & ~accounts.fast_grower
    dimension = np.argmax(rng.random((count, 3)) * finite, axis=1)
    return _Limits(seats=seats, storage=storage, api=api, near_seats=near & (dimension == 0),
                   near_storage=near & (dimension == 1), near_api=near & (dimension == 2))


def _levels(rng: np.random.Generator, accounts: Accounts, limits: _Limits) -> _Levels:
    """End-of-window seats, storage and daily API calls, below their limits (near them where planted)."""
    count, quantity, fast = len(accounts.customer), accounts.quantity, accounts.fast_grower
    seats = np.where(accounts.family == WORKSPACE, quantity * rng.uniform(0.7, 1.0, count),
                     np.where(np.isfinite(limits.seats), limits.seats * rng.uniform(0.3, 0.85, count),
                              rng.uniform(8, 60, count)))
    seats = np.where(fast, quantity * rng.uniform(0.92, 1.0, count), seats)
    seats = np.where(limits.near_seats, limits.seats * rng.uniform(0.9, 1.0, count), seats)
    seats = np.maximum(np.minimum(seats, limits.seats), 1.0)
    growth = np.where(fast, rng.uniform(0.3, 0.6, count), 0.0)
    drift = np.where(limits.near_seats | fast, 0.0, rng.uniform(-0.05, 0.10, count))
    storage = np.where(np.isfinite(limits.storage), limits.storage * rng.uniform(0.05, 0.75, count),
                       quantity * rng.uniform(2.0, 15.0, count))
    storage = np.where(limits.near_storage, limits.storage * rng.uniform(0.9, 0.99, count), storage)
    storage_growth = rng.uniform(0.0, 0.25, count)
    api_daily = np.where(np.isfinite(limits.api), limits.api / 30 * rng.uniform(0.05, 0.6, count),
                         quantity * rng.uniform(100, 2_000, count))
    api_daily = np.where(limits.near_api, limits.api / 30 * rng.uniform(0.92, 1.0, count), api_daily)
    return _Levels(seats=seats, growth=growth, drift=drift, quiet=fast | limits.near_seats | (seats < 20),
                   storage=storage, storage_growth=storage_growth, api_daily=api_daily)


def _metric_events(metric: int, account: np.ndarray, occurred: np.ndarray, value: np.ndarray) -> _Events:
    """Events of one metric other than feature_blocked."""
    return _Events(account=account, occurred=occurred, metric=np.full(len(account), metric), value=value,
                   feature=np.zeros(len(account), dtype=np.int64))


def _api_calls(rng: np.random.Generator, levels: _Levels, days: _Days) -> _Events:
    """One API call count per account and day, at 00:00; weekends are quieter."""
    weekday = (days.day + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    value = np.round(levels.api_daily[days.account] * np.where(weekday >= 5, 0.5, 1.2)
                     * rng.lognormal(0, 0.12, len(days.day)))
    return _metric_events(API_CALLS, days.account, days.day * DAY, value)


def _active_seats(end: int, rng: np.random.Generator, levels: _Levels, limits: _Limits, days: _Days) -> _Events:
    """Seats every 3rd day in daytime: fast growers ramp up over the last 30 days, the rest drift; larger
    accounts get +-1 seat of noise."""
    rows = np.flatnonzero((days.day + days.account) % 3 == 0)
    account = days.account[rows]
    occurred = days.day[rows] * DAY + uniform_int(rng, 6 * HOUR, 20 * HOUR, len(rows))
    age = (end - occurred) / DAY  # days before the end
    start_share = 1.0 / (1.0 + levels.growth[account])
    ramp = np.where(age >= 30, start_share, start_share + (1.0 - start_share) * (30 - age) / 30)
    noise = np.where(levels.quiet[account], 0, rng.choice([-1, 0, 0, 0, 1], len(account)))
    value = np.round(levels.seats[account] * ramp * (1.0 - levels.drift[account] * age / USAGE_DAYS)) + noise
    return _metric_events(ACTIVE_SEATS, account, occurred, np.clip(value, 1.0, limits.seats[account]))


def _storage(end: int, rng: np.random.Generator, levels: _Levels, days: _Days) -> _Events:
    """Storage every 4th day at any time of day, growing towards its end level."""
    rows = np.flatnonzero((days.day + days.account * 7) % 4 == 0)
    account = days.account[rows]
    occurred = days.day[rows] * DAY + uniform_int(rng, 0, DAY, len(rows))
    age = (end - occurred) / DAY
    value = np.maximum(np.round(levels.storage[account] * (1.0 - levels.storage_growth[account] * age / USAGE_DAYS),
                                1), 0.1)
    return _metric_events(STORAGE_GB, account, occurred, value)


def _blocked_features(end: int, plans: Plans, rng: np.random.Generator, accounts: Accounts, first_day: np.ndarray,
                      days_per_account: np.ndarray) -> _Events:
    """~15 % of accounts below their family's top tier hit a feature of a tier or two up 5-40 times,
    60 % of the hits in the last 30 days."""
    count, tier, top = len(accounts.customer), accounts.tier, plans.max_tier[accounts.family]
    blocked = (rng.random(count) < 0.18) & (tier < top) & (days_per_account > 0)
    account = np.repeat(np.arange(count), np.where(blocked, rng.integers(5, 41, count), 0))
    jump = np.where((rng.random(count) < 0.25) & (tier + 2 <= top), 2, 1)
    wanted_tier, family = (tier + jump)[account], accounts.family[account]
    feature = plans.feature_start[family, wanted_tier] + (
        rng.random(len(account)) * plans.feature_count[family, wanted_tier]).astype(np.int64)
    window_start = first_day[account] * DAY
    recent_start = np.maximum(window_start, end - 30 * DAY)
    occurred = np.where(rng.random(len(account)) < 0.6, uniform_int(rng, recent_start, end),
                        uniform_int(rng, window_start, end))
    return _Events(account=account, occurred=occurred, metric=np.full(len(account), FEATURE_BLOCKED),
                   value=np.ones(len(account)), feature=feature)

"""The subscription_items table: each subscription's plan history (see `subscription_events`,
`subscription_history`) and its add-on lines, and the accounts still subscribed at the end."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from orchestration.lib.generator.arrays import (
    ceil_month,
    concatenate_rows,
    dictionary_column,
    money,
    take_rows,
    timestamps,
    uniform_int,
)
from orchestration.lib.generator.catalogue import Catalogue
from orchestration.lib.generator.catalogue.constants import ANNUAL, ANNUAL_FACTOR, DAY, HOUR, PERIODS
from orchestration.lib.generator.catalogue.currencies import CURRENCIES, CURRENCY_DECIMALS, round_price
from orchestration.lib.generator.catalogue.plans import WORKSPACE, Plans, plan_index
from orchestration.lib.generator.customers import Customers
from orchestration.lib.generator.effect import EffectPlanter
from orchestration.lib.generator.ids import IdSequences, ids
from orchestration.lib.generator.subscription_events import (
    TRIAL_DAYS,
    UPGRADE,
    ActiveWindow,
    Events,
    Lifecycle,
    Subscriptions,
    draw_events,
)
from orchestration.lib.generator.subscription_history import (
    ACTIVE,
    SUBSCRIPTION_STATUSES,
    TRIALING,
    History,
    replay,
)
from orchestration.lib.generator.tables import contract_table

KINDS = ("plan", "addon")
SUBSCRIBER_SHARE = 0.85
TIER_CDF = np.array([  # [family, segment, tier - 1] -> share of first subscriptions at or below the tier
    [[0.55, 0.35, 0.08, 0.02], [0.15, 0.45, 0.30, 0.10], [0.02, 0.18, 0.45, 0.35]],
    [[0.60, 0.30, 0.10, 0.00], [0.30, 0.45, 0.25, 0.00], [0.10, 0.40, 0.50, 0.00]],
]).cumsum(axis=2)
SEAT_RANGE = (np.array([1, 8, 40]), np.array([9, 45, 400]))  # per segment: first seats, log-uniform in [low, high)


@dataclass(frozen=True)
class Accounts:
    """The subscribed, not churned customers at the end: who gets usage events (one entry an account)."""

    customer: np.ndarray  # index into the chunk's customers
    family: np.ndarray
    tier: np.ndarray
    quantity: np.ndarray
    plan: np.ndarray
    since: np.ndarray  # usage starts at max(end - 90 days, since)
    fast_grower: np.ndarray


@dataclass(frozen=True)
class _ItemRows:
    """subscription_items rows, plan and add-on rows alike (one entry a row)."""

    subscription: np.ndarray  # index into the subscriptions
    valid_from: np.ndarray
    valid_to: np.ndarray  # -1 while open
    is_addon: np.ndarray
    plan: np.ndarray  # plan number (plan rows; 0 on add-on rows)
    product: np.ndarray  # product index (add-on rows; 0 on plan rows)
    quantity: np.ndarray
    price: np.ndarray  # in the subscription's currency, before rounding
    status: np.ndarray


def generate_subscription_items(catalogue: Catalogue, rng: np.random.Generator, customers: Customers,
                                sequences: IdSequences,
                                planter: EffectPlanter | None = None) -> tuple[pa.Table, Accounts]:
    """85 % of customers subscribe; returns their subscription_items and the accounts live at the end.

    With a `planter`, the planted effect's upgrades join the history (see `effect`); the accounts, and so the
    usage events, stay those of the history without them.
    """
    subscriptions = _draw_subscriptions(catalogue, rng, customers)
    lifecycle, events = draw_events(catalogue.end, catalogue.plans, rng, subscriptions)
    history = replay(catalogue.plans, subscriptions, lifecycle, events)
    accounts = _accounts(subscriptions, lifecycle, history)
    if planter is not None:
        planted = _planted_upgrades(catalogue.plans, planter, customers, subscriptions, lifecycle, history)
        history = replay(catalogue.plans, subscriptions, lifecycle, concatenate_rows([events, planted]))
    start_rate = catalogue.fx.usd_per_unit(customers.currency[subscriptions.customer], subscriptions.start)
    plan_rows = _plan_rows(catalogue.plans, subscriptions, history, start_rate)
    addon_rows = _addon_rows(catalogue, rng, subscriptions, lifecycle, start_rate)
    rows = concatenate_rows([plan_rows, addon_rows])
    rows = take_rows(rows, np.lexsort((rows.is_addon, rows.valid_from, rows.subscription)))
    table = _subscription_items_table(catalogue, customers, subscriptions, rows, sequences)
    return table, accounts


def _planted_upgrades(plans: Plans, planter: EffectPlanter, customers: Customers, subscriptions: Subscriptions,
                      lifecycle: Lifecycle, history: History) -> Events:
    """One-tier upgrades after the send instant for subscriptions active below the top tier then (see `effect`),
    each before the subscription's next churn or pause."""
    send = planter.effect.send_instant
    periods = history.periods
    in_force = ((periods.valid_from < send) & ((periods.valid_to < 0) | (periods.valid_to >= send))
                & (periods.status == ACTIVE)
                & (periods.tier < plans.max_tier[subscriptions.family[periods.subscription]]))
    eligible = np.zeros(subscriptions.count, dtype=bool)
    eligible[periods.subscription[in_force]] = True
    churn = np.where(lifecycle.churns & (lifecycle.churn_at > send), lifecycle.churn_at, np.iinfo(np.int64).max)
    pause = np.where(lifecycle.pauses & (lifecycle.pause_at > send), lifecycle.pause_at, np.iinfo(np.int64).max)
    subscription, time = planter.upgrades(customers.ids, subscriptions.customer, eligible, np.minimum(churn, pause))
    return Events(subscription=subscription, time=time, kind=np.full(len(subscription), UPGRADE),
                  parameter=np.zeros(len(subscription)))


def _draw_subscriptions(catalogue: Catalogue, rng: np.random.Generator, customers: Customers) -> Subscriptions:
    """Who subscribes, when (mostly within weeks of sign-up, 10 % on a 1st of the month), to which plan."""
    end = catalogue.end
    subscriber = np.flatnonzero(rng.random(customers.count) < SUBSCRIBER_SHARE)
    count = len(subscriber)
    created = customers.created[subscriber]
    start = created + rng.exponential(20 * DAY, count).astype(np.int64)
    too_late = start > end - HOUR
    start[too_late] = uniform_int(rng, created[too_late], end - HOUR)
    on_first = rng.random(count) < 0.10
    rounded = ceil_month(start)
    start = np.where(on_first & (rounded < end - HOUR), rounded, start)
    family, tier, period, quantity = _first_plans(catalogue.plans, rng, customers.segment[subscriber])
    trial = rng.random(count) < 0.40
    never_converts = trial & (rng.random(count) < 0.12)
    activated = np.where(trial, start + TRIAL_DAYS * DAY, start)
    return Subscriptions(customer=subscriber, start=start, family=family, tier=tier, period=period,
                         quantity=quantity, trial=trial, never_converts=never_converts, activated=activated,
                         evolves=~never_converts & (activated < end - DAY))


def _first_plans(plans: Plans, rng: np.random.Generator,
                 segment: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Family (20 % Insights), tier (higher for larger segments), period (31 % of Workspace annual), seats."""
    count = len(segment)
    family = (rng.random(count) < 0.2).astype(np.int64)
    tier = (rng.random(count)[:, None] > TIER_CDF[family, segment]).sum(axis=1) + 1
    tier = np.minimum(tier, plans.max_tier[family])
    period = ((family == WORKSPACE) & (rng.random(count) < 0.31)).astype(np.int64)
    low, high = SEAT_RANGE[0][segment], SEAT_RANGE[1][segment]
    quantity = np.round(np.exp(rng.uniform(np.log(low), np.log(high)))).astype(np.int64)
    quantity = np.where(family == WORKSPACE, np.minimum(quantity, plans.tier_seat_limit[family, tier]), 1)
    return family, tier, period, quantity.astype(np.int64)


def _plan_rows(plans: Plans, subscriptions: Subscriptions, history: History, start_rate: np.ndarray) -> _ItemRows:
    """The plan periods as rows, priced at the rate of the subscription's start."""
    periods = history.periods
    subscription = periods.subscription
    plan = plan_index(subscriptions.family[subscription], periods.tier, subscriptions.period[subscription])
    zeros = np.zeros(len(subscription), dtype=np.int64)
    return _ItemRows(
        subscription=subscription, valid_from=periods.valid_from, valid_to=periods.valid_to,
        is_addon=zeros.astype(bool), plan=plan, product=zeros, quantity=periods.quantity,
        price=plans.usd[plan] * periods.price_factor / start_rate[subscription], status=periods.status,
    )


def _addon_rows(catalogue: Catalogue, rng: np.random.Generator, subscriptions: Subscriptions,
                lifecycle: Lifecycle, start_rate: np.ndarray) -> _ItemRows:
    """29 % of evolving, never paused subscriptions add one add-on line while active, closed when they churn."""
    products = catalogue.products
    chosen = subscriptions.evolves & ~lifecycle.pauses & (rng.random(subscriptions.count) < 0.29)
    subscription = np.flatnonzero(chosen)
    valid_from = ActiveWindow(rng, subscriptions.activated, lifecycle.active_end).instants(subscription)
    addon = rng.integers(len(products.addons), size=len(subscription))
    quantity = 1 + (rng.random(len(subscription)) * products.addon_max_units[addon]).astype(np.int64)
    periods = np.where(subscriptions.period[subscription] == ANNUAL, ANNUAL_FACTOR, 1)
    zeros = np.zeros(len(subscription), dtype=np.int64)
    return _ItemRows(
        subscription=subscription, valid_from=valid_from,
        valid_to=np.where(lifecycle.churns[subscription], lifecycle.churn_at[subscription], -1),
        is_addon=~zeros.astype(bool), plan=zeros, product=products.addons[addon], quantity=quantity,
        price=products.usd[products.addons[addon]] * periods / start_rate[subscription],
        status=np.full(len(subscription), ACTIVE),
    )


def _subscription_items_table(catalogue: Catalogue, customers: Customers, subscriptions: Subscriptions,
                              rows: _ItemRows, sequences: IdSequences) -> pa.Table:
    """subscription_items; a subscription's ID comes from its customer's number."""
    subscription = rows.subscription
    currency = customers.currency[subscriptions.customer][subscription]
    return contract_table("subscription_items", {
        "item_id": sequences.take("si_", len(subscription)),
        "subscription_id": ids("sub_", customers.number[subscriptions.customer]).take(pa.array(subscription)),
        "customer_id": dictionary_column(customers.ids, subscriptions.customer[subscription]),
        "kind": dictionary_column(KINDS, rows.is_addon.astype(np.int64)),
        "plan_id": dictionary_column(catalogue.plans.ids, rows.plan, ~rows.is_addon),
        "product_id": dictionary_column(catalogue.products.ids, rows.product, rows.is_addon),
        "quantity": pa.array(rows.quantity.astype(np.int32)),
        "unit_price": money(round_price(rows.price, currency), CURRENCY_DECIMALS[currency]),
        "billing_period": dictionary_column(PERIODS, subscriptions.period[subscription]),
        "currency": dictionary_column(CURRENCIES, currency),
        "status": dictionary_column(SUBSCRIPTION_STATUSES, rows.status),
        "valid_from": timestamps(rows.valid_from),
        "valid_to": timestamps(np.maximum(rows.valid_to, 0), rows.valid_to >= 0),
    })


def _accounts(subscriptions: Subscriptions, lifecycle: Lifecycle, history: History) -> Accounts:
    """The subscriptions active or trialing at the end, with their final plan."""
    final = history.final
    live = (final.status == ACTIVE) | (final.status == TRIALING)
    return Accounts(
        customer=subscriptions.customer[live], family=subscriptions.family[live], tier=final.tier[live],
        quantity=final.quantity[live], plan=plan_index(subscriptions.family, final.tier, subscriptions.period)[live],
        since=history.since[live], fast_grower=lifecycle.fast_grower[live],
    )

"""Replays the drawn events of each subscription into its plan periods (the plan rows of subscription_items)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from orchestration.lib.generator.arrays import concatenate_rows, group_positions, take_rows
from orchestration.lib.generator.catalogue.plans import Plans
from orchestration.lib.generator.subscription_events import (
    CHURN,
    DOWNGRADE,
    PAUSE,
    PRICE,
    REACTIVATE,
    RESUME,
    SEATS,
    TRIAL_END,
    UPGRADE,
    Events,
    Lifecycle,
    Subscriptions,
)

SUBSCRIPTION_STATUSES = ("trialing", "active", "paused", "canceled")
TRIALING, ACTIVE, PAUSED, CANCELED, ENDED = range(len(SUBSCRIPTION_STATUSES) + 1)  # ENDED: no row any more


@dataclass(frozen=True)
class State:
    """Where each subscription stands (one entry a subscription)."""

    tier: np.ndarray
    quantity: np.ndarray
    price_factor: np.ndarray  # price changes so far, multiplied
    status: np.ndarray  # TRIALING .. ENDED

    def differs_from(self, other: State) -> np.ndarray:
        """Per subscription: does any of tier, quantity, price factor or status differ?"""
        return ((self.tier != other.tier) | (self.quantity != other.quantity)
                | (self.price_factor != other.price_factor) | (self.status != other.status))


@dataclass(frozen=True)
class PlanPeriods:
    """Plan rows: a subscription's state from `valid_from` until `valid_to` (-1 while it lasts)."""

    subscription: np.ndarray
    valid_from: np.ndarray
    valid_to: np.ndarray
    tier: np.ndarray
    quantity: np.ndarray
    price_factor: np.ndarray
    status: np.ndarray


@dataclass(frozen=True)
class History:
    """The outcome of the replay."""

    periods: PlanPeriods
    final: State  # at the end
    since: np.ndarray  # when the current run of activity began (start, reactivation or resumption)


@dataclass
class _Slots:
    """The events as a [subscription, slot] grid: slot k holds each subscription's k-th event (kind -1: none)."""

    kind: np.ndarray
    time: np.ndarray
    parameter: np.ndarray


@dataclass
class _PeriodLog:
    """The plan periods in the order the replay closes them."""

    parts: list[PlanPeriods] = field(default_factory=list)

    def close(self, where: np.ndarray, state: State, valid_from: np.ndarray, valid_to: np.ndarray) -> None:
        """Record the current period of the subscriptions `where` (a mask) as lasting until `valid_to`."""
        self.parts.append(PlanPeriods(
            subscription=np.flatnonzero(where), valid_from=valid_from[where], valid_to=valid_to[where],
            tier=state.tier[where], quantity=state.quantity[where], price_factor=state.price_factor[where],
            status=state.status[where]))


def replay(plans: Plans, subscriptions: Subscriptions, lifecycle: Lifecycle, events: Events) -> History:
    """Apply each subscription's events in time order; every change closes a row and opens the next."""
    slots = _slots(subscriptions.count, _in_order(events, lifecycle))
    state = State(tier=subscriptions.tier, quantity=subscriptions.quantity,
                  price_factor=np.ones(subscriptions.count),
                  status=np.where(subscriptions.trial, TRIALING, ACTIVE))
    valid_from = subscriptions.start.copy()
    since = subscriptions.start.copy()
    log = _PeriodLog()
    for slot in range(slots.kind.shape[1]):
        kind, time = slots.kind[:, slot], slots.time[:, slot]
        following = _next_state(plans, subscriptions.family, state, kind, slots.parameter[:, slot])
        changed = (kind >= 0) & following.differs_from(state)
        log.close(changed & (state.status != ENDED), state, valid_from, time)
        valid_from = np.where(changed, time, valid_from)
        since = np.where(kind == REACTIVATE, time, since)
        since = np.where(kind == RESUME, np.maximum(since, time), since)
        state = State(*(np.where(changed, new, old) for new, old in (
            (following.tier, state.tier), (following.quantity, state.quantity),
            (following.price_factor, state.price_factor), (following.status, state.status))))
    log.close(state.status != ENDED, state, valid_from, np.full(subscriptions.count, -1, dtype=np.int64))
    return History(periods=concatenate_rows(log.parts), final=state, since=since)


def _in_order(events: Events, lifecycle: Lifecycle) -> Events:
    """The events by subscription, time and kind, without plan changes inside a pause; ties within a
    subscription move the later event on by a second, so that each row has a positive length."""
    subscription, time = events.subscription, events.time
    inside = ((time > lifecycle.pause_at[subscription]) & (time < lifecycle.resume_at[subscription])
              & (events.kind != RESUME))
    events = take_rows(events, ~inside)
    events = take_rows(events, np.lexsort((events.kind, events.time, events.subscription)))
    subscription, time = events.subscription, events.time
    same = np.zeros(len(subscription), dtype=bool)
    same[1:] = (subscription[1:] == subscription[:-1]) & (time[1:] == time[:-1])
    run_start = np.maximum.accumulate(np.where(~same, np.arange(len(subscription)), 0))
    return Events(subscription=subscription, time=time + (np.arange(len(subscription)) - run_start),
                  kind=events.kind, parameter=events.parameter)


def _slots(count: int, events: Events) -> _Slots:
    """The ordered events laid out per subscription and slot."""
    per_subscription = np.bincount(events.subscription, minlength=count)
    position = group_positions(per_subscription)
    width = int(per_subscription.max()) if count else 0
    slots = _Slots(kind=np.full((count, width), -1, dtype=np.int64), time=np.zeros((count, width), dtype=np.int64),
                   parameter=np.zeros((count, width)))
    slots.kind[events.subscription, position] = events.kind
    slots.time[events.subscription, position] = events.time
    slots.parameter[events.subscription, position] = events.parameter
    return slots


def _next_state(plans: Plans, family: np.ndarray, state: State, kind: np.ndarray, parameter: np.ndarray) -> State:
    """The state after one event per subscription (kind -1: no event, no change)."""
    tier, quantity = state.tier.copy(), state.quantity.copy()
    price_factor, status = state.price_factor.copy(), state.status.copy()
    up = kind == UPGRADE
    tier[up] = np.minimum(state.tier[up] + 1, plans.max_tier[family[up]])
    down = kind == DOWNGRADE
    tier[down] = np.maximum(state.tier[down] - 1, 1)
    quantity[down] = np.minimum(state.quantity[down], plans.tier_seat_limit[family[down], tier[down]])
    seats = kind == SEATS
    quantity[seats] = np.clip(np.round(state.quantity[seats] * parameter[seats]), 1,
                              plans.tier_seat_limit[family[seats], state.tier[seats]])
    price = kind == PRICE
    price_factor[price] = state.price_factor[price] * parameter[price]
    trial_end = kind == TRIAL_END
    status[trial_end] = np.where(parameter[trial_end] > 0, CANCELED, ACTIVE)
    status[kind == PAUSE] = PAUSED
    status[(kind == RESUME) | (kind == REACTIVATE)] = ACTIVE
    churn = kind == CHURN
    status[churn] = np.where(parameter[churn] > 0, ENDED, CANCELED)
    return State(tier=tier, quantity=quantity, price_factor=price_factor, status=status)

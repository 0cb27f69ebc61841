"""Lifecycle events of subscriptions: trial ends, churn and reactivation, pauses, plan, seat and price changes.

The events are drawn here, from `Subscriptions` (each subscription as it starts, drawn by `subscriptions`);
`subscription_history` replays them into plan periods.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from orchestration.lib.generator.arrays import ceil_month, concatenate_rows, uniform_int
from orchestration.lib.generator.catalogue.constants import DAY
from orchestration.lib.generator.catalogue.plans import WORKSPACE, Plans

EVENT_KINDS = ("trial_end", "upgrade", "downgrade", "seats", "price", "pause", "resume", "churn", "reactivate")
TRIAL_END, UPGRADE, DOWNGRADE, SEATS, PRICE, PAUSE, RESUME, CHURN, REACTIVATE = range(len(EVENT_KINDS))
TRIAL_DAYS = 14


@dataclass(frozen=True)
class Subscriptions:
    """The chunk's subscriptions as they start (one entry a subscription, one per subscribing customer)."""

    customer: np.ndarray  # index into the chunk's customers
    start: np.ndarray  # epoch seconds
    family: np.ndarray
    tier: np.ndarray
    period: np.ndarray
    quantity: np.ndarray
    trial: np.ndarray
    never_converts: np.ndarray  # trials that end canceled
    activated: np.ndarray  # the trial's end, or the start
    evolves: np.ndarray  # converts and is active a day before the end: may change, churn or pause

    @property
    def count(self) -> int:
        """The number of subscriptions."""
        return len(self.customer)


@dataclass(frozen=True)
class Events:
    """Events, one entry an event."""

    subscription: np.ndarray  # index into the subscriptions
    time: np.ndarray  # epoch seconds
    kind: np.ndarray  # index into EVENT_KINDS
    parameter: np.ndarray  # trial end / churn: 1 = canceled / closed; seats, price: the factor


@dataclass(frozen=True)
class Lifecycle:
    """When each subscription churns and pauses, and which grow fast (one entry a subscription)."""

    churns: np.ndarray
    churn_at: np.ndarray  # the end where it does not churn
    active_end: np.ndarray  # churn_at where it churns, else the end
    pauses: np.ndarray
    pause_at: np.ndarray  # a day after the end where it does not pause
    resume_at: np.ndarray
    fast_grower: np.ndarray  # Workspace subscriptions adding seats quickly in the last weeks


@dataclass
class _EventLog:
    """The events in the order they are drawn (the replay's order among ties depends on it)."""

    parts: list[Events] = field(default_factory=list)

    def add(self, where: np.ndarray, times: np.ndarray, kind: int, parameter: np.ndarray | float = 0.0) -> None:
        """Events of `kind` for the subscriptions `where` (a mask or indexes) at `times`."""
        index = np.flatnonzero(where) if where.dtype == bool else where
        self.parts.append(Events(
            subscription=index, time=np.asarray(times, dtype=np.int64), kind=np.full(len(index), kind),
            parameter=np.broadcast_to(np.asarray(parameter, dtype=np.float64), (len(index),)).copy(),
        ))


def on_month_start_sometimes(rng: np.random.Generator, times: np.ndarray, bound: np.ndarray,
                             share: float) -> np.ndarray:
    """`times`, a `share` of them moved to the next 1st of the month where that is before `bound`."""
    rounded = ceil_month(times)
    return np.where((rng.random(len(times)) < share) & (rounded < bound), rounded, times)


@dataclass(frozen=True)
class ActiveWindow:
    """Draws instants while subscriptions are active: after activation, before churn (or the end)."""

    rng: np.random.Generator
    activated: np.ndarray
    active_end: np.ndarray

    def instants(self, subscription: np.ndarray) -> np.ndarray:
        """One instant per entry of `subscription` (indexes, repeats allowed), 15 % on a 1st of the month."""
        times = uniform_int(self.rng, self.activated[subscription] + 1, self.active_end[subscription] - 1)
        return on_month_start_sometimes(self.rng, times, self.active_end[subscription], 0.15)


def draw_events(end: int, plans: Plans, rng: np.random.Generator,
                subscriptions: Subscriptions) -> tuple[Lifecycle, Events]:
    """All events of the subscriptions before `end`, and the churn and pause windows they imply."""
    log = _EventLog()
    ended_trial = subscriptions.trial & (subscriptions.activated < end)
    log.add(ended_trial, subscriptions.activated[ended_trial], TRIAL_END,
            subscriptions.never_converts[ended_trial].astype(float))
    churns, churn_at = _churn(end, rng, log, subscriptions)
    active_end = np.where(churns, churn_at, end)
    pauses, pause_at, resume_at = _pauses(end, rng, log, subscriptions, active_end)
    window = ActiveWindow(rng, subscriptions.activated, active_end)
    fast_grower = _fast_growers(end, plans, rng, subscriptions, churns)
    _plan_changes(plans, rng, log, window, subscriptions, fast_grower)
    _seat_changes(rng, log, window, subscriptions)
    changed = np.flatnonzero(subscriptions.evolves & (rng.random(subscriptions.count) < 0.10))
    log.add(changed, window.instants(changed), PRICE, rng.uniform(1.05, 1.15, len(changed)))
    fast = np.flatnonzero(fast_grower)
    log.add(fast, end - uniform_int(rng, 2 * DAY, 25 * DAY, len(fast)), SEATS, rng.uniform(1.3, 1.6, len(fast)))
    lifecycle = Lifecycle(churns=churns, churn_at=churn_at, active_end=active_end, pauses=pauses,
                          pause_at=pause_at, resume_at=resume_at, fast_grower=fast_grower)
    return lifecycle, concatenate_rows(log.parts)


def _churn(end: int, rng: np.random.Generator, log: _EventLog,
           subscriptions: Subscriptions) -> tuple[np.ndarray, np.ndarray]:
    """17 % of evolving subscriptions churn after 30+ days (a quarter on a 1st of the month); 45 % of those
    come back 60-240 days later. Returns who churns and when."""
    count, activated = subscriptions.count, subscriptions.activated
    churns = subscriptions.evolves & (rng.random(count) < 0.17) & (activated + 30 * DAY < end - 1)
    churn_at = np.full(count, end, dtype=np.int64)
    churn_at[churns] = uniform_int(rng, activated[churns] + 30 * DAY, end - 1)
    churn_at[churns] = on_month_start_sometimes(rng, churn_at[churns], np.full(churns.sum(), end), 0.25)
    leaves = (rng.random(count) < 0.4).astype(float)  # 1: the last row is simply closed; 0: a canceled row opens
    log.add(churns, churn_at[churns], CHURN, leaves[churns])
    reactivate_at = churn_at + uniform_int(rng, 60 * DAY, 240 * DAY, count)
    reactivates = churns & (rng.random(count) < 0.45) & (reactivate_at < end - 1)
    log.add(reactivates, reactivate_at[reactivates], REACTIVATE)
    return churns, churn_at


def _pauses(end: int, rng: np.random.Generator, log: _EventLog, subscriptions: Subscriptions,
            active_end: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """4 % of subscriptions active for 80+ days pause for 30-60 days. Returns who pauses, when, and resumes."""
    count, activated = subscriptions.count, subscriptions.activated
    pauses = subscriptions.evolves & (rng.random(count) < 0.04) & (active_end - activated > 80 * DAY)
    pause_at = np.full(count, end + DAY, dtype=np.int64)
    resume_at = np.full(count, end + DAY, dtype=np.int64)
    pause_at[pauses] = uniform_int(rng, activated[pauses] + DAY, active_end[pauses] - 65 * DAY)
    resume_at[pauses] = pause_at[pauses] + uniform_int(rng, 30 * DAY, 61 * DAY, int(pauses.sum()))
    log.add(pauses, pause_at[pauses], PAUSE)
    log.add(pauses, resume_at[pauses], RESUME)
    return pauses, pause_at, resume_at


def _fast_growers(end: int, plans: Plans, rng: np.random.Generator, subscriptions: Subscriptions,
                  churns: np.ndarray) -> np.ndarray:
    """13 % of the Workspace subscriptions with 5+ seats and room to grow 60 % (or no limit), active 35+ days."""
    family, tier, quantity = subscriptions.family, subscriptions.tier, subscriptions.quantity
    limit_now = plans.tier_seat_limit[family, tier]
    return (subscriptions.evolves & ~churns & (family == WORKSPACE) & (subscriptions.activated < end - 35 * DAY)
            & (quantity >= 5) & ((tier == 4) | (quantity * 1.6 <= limit_now))
            & (rng.random(subscriptions.count) < 0.13))


def _plan_changes(plans: Plans, rng: np.random.Generator, log: _EventLog, window: ActiveWindow,
                  subscriptions: Subscriptions, fast_grower: np.ndarray) -> None:
    """24 % upgrade a tier (below the top), 9 % downgrade one (above the bottom, never a fast grower)."""
    count, evolves, tier = subscriptions.count, subscriptions.evolves, subscriptions.tier
    upgrades = np.flatnonzero(evolves & (rng.random(count) < 0.24) & (tier < plans.max_tier[subscriptions.family]))
    log.add(upgrades, window.instants(upgrades), UPGRADE)
    downgrades = np.flatnonzero(evolves & ~fast_grower & (rng.random(count) < 0.09) & (tier > 1))
    log.add(downgrades, window.instants(downgrades), DOWNGRADE)


def _seat_changes(rng: np.random.Generator, log: _EventLog, window: ActiveWindow,
                  subscriptions: Subscriptions) -> None:
    """62 % of evolving Workspace subscriptions change seats 1-3 times: 80 % up 10-60 %, the rest down 10-40 %."""
    count = subscriptions.count
    changes = np.where(subscriptions.evolves & (subscriptions.family == WORKSPACE) & (rng.random(count) < 0.62),
                       rng.choice(3, count, p=(0.6, 0.3, 0.1)) + 1, 0)
    changed = np.repeat(np.arange(count), changes)
    times = window.instants(changed)
    up = rng.random(len(changed)) < 0.8
    log.add(changed, times, SEATS,
            np.where(up, rng.uniform(1.1, 1.6, len(changed)), rng.uniform(0.6, 0.9, len(changed))))

"""A known answer for the outcome marts: a true effect of the two programmes, planted after one send date.

`PlantedEffect(send_date=...)` passed to `generate()` changes three things, all after the as-of instant of
`send_date` (the end of that day, UTC), the date a pipeline run records the sends on:

- **Sends.** `send_window_share` of each chunk's orders (not cancelled, of customers older than a week) are
  delivered 24-48 h before that instant, so that the run on `send_date` e-mails (or holds out) many customers.
- **Cross-sell.** Each customer with an order delivered in that window takes up the offer with probability
  `cross_sell_rates[1]` when treated and `cross_sell_rates[0]` when in the cross-sell holdout
  (`holdout.is_held_out`, the same assignment the warehouse computes at `holdout_share`): it then orders, once
  within `window_days`, every product a recommendation could propose (a planted partner of a product on the
  order in either direction, or a partner of such a partner: the rules copurchase_pairs finds), in one order that
  is delivered, never cancelled or returned. So an e-mail converts, and each of its recommendations too, with
  that probability (plus what the customer buys anyway, alike in both groups).
- **Upsell.** Each subscription active at the instant and below its family's top tier moves up one tier within
  `window_days` with probability `upsell_rates[1]` (treated) or `upsell_rates[0]` (upsell holdout). The usage
  events stay those of the plan before the move, so the move cannot make an account more likely to be flagged
  on `send_date`.

The generator cannot replay the recommendation and flag rules, so the effect covers every row they could
produce: a recommendation the pipeline makes of a product that is not a planted partner (a chance pair on small
data) carries no effect and pulls the measured lift towards 0, and the upgrade effect also reaches accounts that
were not flagged (they are not measured). Background purchases and upgrades happen in both groups alike, so the
measured difference of conversion rates estimates `planted_lift(programme)`.

Everything is drawn from a random stream of its own per chunk, so without an effect the output is byte-identical
to a generation that never heard of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa

from orchestration.lib.generator.arrays import random_stream, uniform_int
from orchestration.lib.generator.catalogue.constants import DAY, HOUR
from orchestration.lib.generator.holdout import CROSS_SELL, UPSELL, held_out

EFFECT_STREAM = 300  # random_stream(seed, EFFECT_STREAM, chunk): the effect's own draws


@dataclass(frozen=True)
class PlantedEffect:
    """The effect to plant (see the module docstring); rates are (holdout, treated) probabilities."""

    send_date: date
    cross_sell_rates: tuple[float, float] = (0.05, 0.35)
    upsell_rates: tuple[float, float] = (0.05, 0.30)
    holdout_share: float = 0.1  # the dbt vars cross_sell_holdout_share and upsell_holdout_share of the run
    window_days: int = 30  # the dbt vars cross_sell_outcome_window_days and upsell_outcome_window_days
    send_window_share: float = 0.03

    def __post_init__(self) -> None:
        for name in ("cross_sell_rates", "upsell_rates"):
            rates = getattr(self, name)
            if len(rates) != 2 or not all(0 <= rate <= 1 for rate in rates):
                raise ValueError(f"{name} must be two probabilities (holdout, treated), not {rates!r}")
        if not 0 < self.holdout_share < 1:
            raise ValueError(f"holdout_share must be between 0 and 1, not {self.holdout_share!r}")
        if self.window_days < 1 or not 0 <= self.send_window_share <= 1:
            raise ValueError("window_days must be at least 1 and send_window_share a share between 0 and 1")

    @property
    def send_instant(self) -> int:
        """The as-of instant of `send_date` (the end of that day, UTC), in epoch seconds."""
        return int(datetime.combine(self.send_date + timedelta(days=1), datetime.min.time(), UTC).timestamp())

    def planted_lift(self, programme: str) -> float:
        """Treated minus holdout probability: the difference of conversion rates the marts should measure."""
        rates = {CROSS_SELL: self.cross_sell_rates, UPSELL: self.upsell_rates}[programme]
        return rates[1] - rates[0]

    def check_fits(self, end: int) -> None:
        """Raise unless every outcome window closes by `end` (the generated data's end instant)."""
        if self.send_instant + self.window_days * DAY > end:
            raise ValueError(f"the planted effect's send date {self.send_date} plus its {self.window_days}-day window "
                             "must end by the generation's end date")

    def describe(self) -> dict[str, object]:
        """The parameters, for `_generation.json`."""
        return {"send_date": self.send_date.isoformat(), "cross_sell_rates": list(self.cross_sell_rates),
                "upsell_rates": list(self.upsell_rates), "holdout_share": self.holdout_share,
                "window_days": self.window_days, "send_window_share": self.send_window_share}


@dataclass
class EffectPlanter:
    """One chunk's planting: the effect and the chunk's own random stream."""

    effect: PlantedEffect
    rng: np.random.Generator

    @classmethod
    def for_chunk(cls, effect: PlantedEffect | None, seed: int, index: int) -> EffectPlanter | None:
        return None if effect is None else cls(effect, random_stream(seed, EFFECT_STREAM, index))

    @property
    def window_end(self) -> int:
        return self.effect.send_instant + self.effect.window_days * DAY

    def send_window_count(self, orders: int) -> int:
        """How many of a chunk's `orders` to deliver in the send date's window."""
        return round(orders * self.effect.send_window_share)

    def follow_ups(self, customer_ids: pa.Array, order_owner: np.ndarray, delivered_in_window: np.ndarray,
                   item_order: np.ndarray, item_product: np.ndarray,
                   partners: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The planted cross-sell purchases, one order per customer that takes up the offer: (owner, ordered
        instant) per order, and (order, product) per line, the order an index into the first two.

        `delivered_in_window` marks the orders delivered 24-48 h before the send instant; `item_order` and
        `item_product` are the chunk's order lines; `partners[product, slot]` the planted partners (-1: none).
        """
        source_lines = delivered_in_window[item_order]
        owners = order_owner[item_order[source_lines]]
        bought = item_product[source_lines]
        candidate_owner, candidate_product = _candidates(owners, bought, partners)
        customers = np.unique(candidate_owner)
        rates = self._rates(CROSS_SELL, self.effect.cross_sell_rates, customer_ids, customers)
        takers = customers[self.rng.random(len(customers)) < rates]
        ordered = uniform_int(self.rng, self.effect.send_instant + 1, self.window_end - HOUR, len(takers))
        taken = np.isin(candidate_owner, takers)
        return takers, ordered, np.searchsorted(takers, candidate_owner[taken]), candidate_product[taken]

    def upgrades(self, customer_ids: pa.Array, owner: np.ndarray, eligible: np.ndarray,
                 last_moment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The planted upsell moves: (subscription index, instant) for the `eligible` subscriptions (active below
        the top tier at the send instant) of customers `owner`, each before its `last_moment` (the next churn or
        pause; the window's end otherwise)."""
        subscription = np.flatnonzero(eligible)
        rates = self._rates(UPSELL, self.effect.upsell_rates, customer_ids, owner[subscription])
        hit = self.rng.random(len(subscription)) < rates
        subscription = subscription[hit]
        start = self.effect.send_instant + 1
        end = np.minimum(self.window_end - HOUR, last_moment[subscription] - 1)
        subscription, end = subscription[end > start], end[end > start]
        return subscription, uniform_int(self.rng, start, end)

    def _rates(self, programme: str, rates: tuple[float, float], customer_ids: pa.Array,
               owner: np.ndarray) -> np.ndarray:
        """Each row's probability: the holdout rate for customers in the programme's holdout, else the treated."""
        unique_owner, position = np.unique(owner, return_inverse=True)
        ids = customer_ids.take(pa.array(unique_owner)).to_pylist()
        holdout = held_out(programme, ids, self.effect.holdout_share)[position]
        return np.where(holdout, rates[0], rates[1])


def _candidates(owners: np.ndarray, bought: np.ndarray, partners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each (customer, product) a recommendation could propose from the products it bought, once: the planted
    partners of each bought product, the products it is a planted partner of, and their partners in turn (two
    accessories of one product are bought together with each other too, so copurchase_pairs finds that rule)."""
    product, slot = np.nonzero(partners >= 0)
    partner = partners[product, slot]
    edge_from = np.concatenate([product, partner])
    edge_to = np.concatenate([partner, product])
    by_from = np.argsort(edge_from, kind="stable")
    edges = (edge_from[by_from], edge_to[by_from])
    first_owner, first_hop = _follow(edges, owners, bought)
    second_owner, second_hop = _follow(edges, first_owner, first_hop)
    pairs = np.unique(np.stack([np.concatenate([first_owner, second_owner]),
                                np.concatenate([first_hop, second_hop])]), axis=1)
    return pairs[0], pairs[1]


def _follow(edges: tuple[np.ndarray, np.ndarray], owners: np.ndarray,
            products: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One step along the partner graph (edges sorted by their first product): (owner, neighbour) per edge."""
    edge_from, edge_to = edges
    first = np.searchsorted(edge_from, products, side="left")
    count = np.searchsorted(edge_from, products, side="right") - first
    row = np.repeat(np.arange(len(products)), count)
    offset = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    return owners[row], edge_to[first[row] + offset]

"""The programmes' holdout assignment in Python, the same as dbt_project/macros/holdout.sql computes it.

A customer is in the holdout (control group) of a programme when the hash fraction of `<programme>:<customer_id>`
is below the programme's share: the first 8 hex digits of its MD5 read as an unsigned 32-bit integer, divided by
2^32. The generator uses it to plant an effect on treated customers only (`effect`); tests use it to check the
warehouse's assignment and that no held-out customer is ever sent anything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

CROSS_SELL = "cross_sell"  # post-delivery cross-sell e-mails (dbt var cross_sell_holdout_share)
UPSELL = "upsell"  # upgrade flags routed to sales or customer success (dbt var upsell_holdout_share)
PROGRAMMES = (CROSS_SELL, UPSELL)


def hash_fraction(programme: str, customer_id: str) -> float:
    """The customer's place in [0, 1) for `programme`: MD5 of `<programme>:<customer_id>`, first 32 bits / 2^32."""
    if programme not in PROGRAMMES:
        raise ValueError(f"programme must be one of {', '.join(PROGRAMMES)}, not {programme!r}")
    digest = hashlib.md5(f"{programme}:{customer_id}".encode(), usedforsecurity=False).hexdigest()
    return int(digest[:8], 16) / 2**32


def is_held_out(programme: str, customer_id: str, share: float) -> bool:
    """Whether the customer is in the holdout of `programme` at `share` (0 holds out nobody, 1 everybody)."""
    return hash_fraction(programme, customer_id) < share


def held_out(programme: str, customer_ids: Iterable[str], share: float) -> np.ndarray:
    """`is_held_out` for each customer id, as a boolean array."""
    return np.array([is_held_out(programme, customer_id, share) for customer_id in customer_ids], dtype=bool)

"""The customers table: companies with a segment, a country (and so a currency), a name and an email domain."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.lib.generator.arrays import dictionary_column, timestamps, uniform_int
from orchestration.lib.generator.catalogue import Catalogue
from orchestration.lib.generator.catalogue.constants import (
    COUNTRIES,
    COUNTRY_CURRENCY,
    COUNTRY_P,
    COUNTRY_TLD,
    DAY,
    HISTORY_DAYS,
    HOUR,
    SEGMENT_P,
    SEGMENTS,
)
from orchestration.lib.generator.catalogue.names import ADJECTIVES, AWKWARD_NAMES, COUNTRY_SUFFIX, NOUNS
from orchestration.lib.generator.ids import ids
from orchestration.lib.generator.tables import contract_table

RECENT_SHARE = 0.02  # customers created in the last 14 days


@dataclass(frozen=True)
class Customers:
    """One chunk of customers: what the chunk's other tables draw on (one entry a customer)."""

    count: int
    number: np.ndarray  # global customer number (1-based)
    segment: np.ndarray
    country: np.ndarray
    currency: np.ndarray
    created: np.ndarray  # epoch seconds
    ids: pa.Array
    domains: pa.Array


def generate_customers(catalogue: Catalogue, rng: np.random.Generator, first: int,
                       count: int) -> tuple[Customers, pa.Table]:
    """Customers first+1 .. first+count and their table; the first chunk also holds the awkward names."""
    number = np.arange(first + 1, first + count + 1, dtype=np.int64)
    segment = rng.choice(len(SEGMENTS), count, p=SEGMENT_P)
    country = rng.choice(len(COUNTRIES), count, p=COUNTRY_P)
    created = _creation_instants(rng, catalogue.end, count)
    names, domains = _company_names(rng, number, country)
    if first == 0:
        names, domains = _with_awkward_names(names, domains, country)
    customers = Customers(count=count, number=number, segment=segment, country=country,
                          currency=COUNTRY_CURRENCY[country], created=created, ids=ids("cus_", number),
                          domains=domains)
    table = contract_table("customers", {
        "customer_id": customers.ids, "name": names, "email_domain": domains,
        "segment": dictionary_column(SEGMENTS, segment), "country": dictionary_column(COUNTRIES, country),
        "created_at": timestamps(created),
    })
    return customers, table


def _creation_instants(rng: np.random.Generator, end: int, count: int) -> np.ndarray:
    """Spread over the 3 years before `end`, a few in the last 14 days (the latest 2 hours before `end`)."""
    recent = rng.random(count) < RECENT_SHARE
    return np.where(
        recent,
        uniform_int(rng, end - 14 * DAY, end - 2 * HOUR, count),
        uniform_int(rng, end - HISTORY_DAYS * DAY, end - 14 * DAY, count),
    )


def _company_names(rng: np.random.Generator, number: np.ndarray,
                   country: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """`<Adjective> <Noun> <legal suffix>` and `<adjective><noun><number>.<tld>` (so domains are unique)."""
    adjective = pa.array(rng.integers(len(ADJECTIVES), size=len(number)))
    noun = pa.array(rng.integers(len(NOUNS), size=len(number)))
    suffix_pick = rng.integers(2, size=len(number))
    suffixes = pa.array([suffix for pair in COUNTRY_SUFFIX for suffix in pair])
    names = pc.binary_join_element_wise(
        pa.array(ADJECTIVES).take(adjective), pa.array(NOUNS).take(noun),
        suffixes.take(pa.array(country * 2 + suffix_pick)), " ")
    domains = pc.binary_join_element_wise(
        pa.array([word.lower() for word in ADJECTIVES]).take(adjective),
        pa.array([word.lower() for word in NOUNS]).take(noun),
        pc.cast(pa.array(number), pa.string()), ".", pa.array(COUNTRY_TLD).take(pa.array(country)), "")
    return names, domains


def _with_awkward_names(names: pa.Array, domains: pa.Array, country: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """Put the AWKWARD_NAMES (with their domains and countries; `country` is changed in place) evenly over a chunk."""
    count = min(len(AWKWARD_NAMES), len(names))
    positions = (np.arange(count) * max(1, len(names) // count)).astype(np.int64)
    mask = pa.array(np.isin(np.arange(len(names)), positions))
    names = pc.replace_with_mask(names, mask, pa.array([awkward[0] for awkward in AWKWARD_NAMES[:count]]))
    domains = pc.replace_with_mask(domains, mask, pa.array([awkward[1] for awkward in AWKWARD_NAMES[:count]]))
    country[positions] = [awkward[2] for awkward in AWKWARD_NAMES[:count]]
    return names, domains

"""The contacts table: 1-3 people per customer, their consent, and older versions of some of them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.lib.generator.arrays import dictionary_column, group_positions, timestamps
from orchestration.lib.generator.catalogue import Catalogue
from orchestration.lib.generator.catalogue.names import FIRST_NAMES, LAST_NAMES
from orchestration.lib.generator.customers import Customers
from orchestration.lib.generator.ids import ids
from orchestration.lib.generator.tables import VersionedTable, contract_table, with_older_versions

CONTACTS_P = (0.5, 0.3, 0.2)  # share of customers with 1, 2, 3 contacts
UNSUBSCRIBED_SHARE = 0.05
OPT_IN_SHARE = 0.65
OLDER_VERSION_SHARE = 0.10


@dataclass(frozen=True)
class _Contacts:
    """The latest version of each contact of a chunk (one entry a contact)."""

    owner: np.ndarray  # index into the chunk's customers
    position: np.ndarray  # 0 for the customer's primary contact
    first_name: np.ndarray  # index into FIRST_NAMES
    emails: pa.Array
    created: np.ndarray
    updated: np.ndarray
    unsubscribed: np.ndarray
    opt_in: np.ndarray
    unsubscribed_at: np.ndarray


@dataclass(frozen=True)
class _OlderVersions:
    """Earlier versions of some contacts: an earlier updated_at, another first name, not yet unsubscribed."""

    contact: np.ndarray  # index into the latest versions
    updated: np.ndarray
    first_name: np.ndarray


def generate_contacts(catalogue: Catalogue, rng: np.random.Generator, customers: Customers) -> VersionedTable:
    """The contacts of a chunk's customers: latest versions first, then ~10 % older versions."""
    contacts = _latest_versions(catalogue.end, rng, customers)
    older = _older_versions(rng, contacts)
    rows, is_old = with_older_versions(len(contacts.owner), older.contact)
    table = contract_table("contacts", {
        "contact_id": ids("ct_", customers.number[contacts.owner] * 10 + contacts.position + 1).take(pa.array(rows)),
        "customer_id": dictionary_column(customers.ids, contacts.owner[rows]),
        "email": contacts.emails.take(pa.array(rows)),
        "first_name": dictionary_column([name for name, _ in FIRST_NAMES],
                                        np.concatenate([contacts.first_name, older.first_name])),
        "is_primary": pa.array(contacts.position[rows] == 0),
        "email_opt_in": pa.array(np.where(is_old, contacts.opt_in[rows] | contacts.unsubscribed[rows],
                                          contacts.opt_in[rows])),
        "unsubscribed_at": timestamps(contacts.unsubscribed_at[rows], contacts.unsubscribed[rows] & ~is_old),
        "updated_at": timestamps(np.concatenate([contacts.updated, older.updated])),
    })
    return VersionedTable(table, current_rows=len(contacts.owner), superseded=len(older.contact))


def _latest_versions(end: int, rng: np.random.Generator, customers: Customers) -> _Contacts:
    """Contacts with `first.last@<customer domain>` emails; the unsubscribed never opt in."""
    per_customer = rng.choice(len(CONTACTS_P), customers.count, p=CONTACTS_P) + 1
    owner = np.repeat(np.arange(customers.count), per_customer)
    position = group_positions(per_customer)
    count = len(owner)
    base_first = rng.integers(len(FIRST_NAMES), size=customers.count)
    first = (base_first[owner] + position * 7) % len(FIRST_NAMES)
    last = rng.integers(len(LAST_NAMES), size=count)
    emails = pc.binary_join_element_wise(
        pa.array([slug for _, slug in FIRST_NAMES]).take(pa.array(first)), ".",
        pa.array(LAST_NAMES).take(pa.array(last)), "@", customers.domains.take(pa.array(owner)), "")
    created = customers.created[owner]
    updated = created + 1 + (rng.random(count) * (end - 1 - created - 1)).astype(np.int64)
    unsubscribed = rng.random(count) < UNSUBSCRIBED_SHARE
    opt_in = (rng.random(count) < OPT_IN_SHARE) & ~unsubscribed
    unsubscribed_at = created + (rng.random(count) * (updated - created)).astype(np.int64)
    return _Contacts(owner=owner, position=position, first_name=first, emails=emails, created=created,
                     updated=updated, unsubscribed=unsubscribed, opt_in=opt_in, unsubscribed_at=unsubscribed_at)


def _older_versions(rng: np.random.Generator, contacts: _Contacts) -> _OlderVersions:
    """~10 % of the contacts also arrive in an older version."""
    old = np.flatnonzero(rng.random(len(contacts.owner)) < OLDER_VERSION_SHARE)
    created, updated = contacts.created[old], contacts.updated[old]
    old_updated = created + (rng.random(len(old)) * (updated - created)).astype(np.int64)
    shift = 1 + rng.integers(len(FIRST_NAMES) - 1, size=len(old))
    return _OlderVersions(contact=old, updated=old_updated,
                          first_name=(contacts.first_name[old] + shift) % len(FIRST_NAMES))

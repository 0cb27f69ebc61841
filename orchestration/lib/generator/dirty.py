"""Planted contract breaks (`dirty=True`): rows that each break exactly one rule and are otherwise valid.

Each planted row starts as a copy of a clean row (as text) and gets one change; most also get a fresh key that
exists nowhere else, so that only repeated-key and conflicting-version rows reuse a clean key. The rows come
from their own random stream, and each rule is planted 3-7 times.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa

from orchestration.lib.contract import TABLE_NAMES, TABLES_BY_NAME, Rule
from orchestration.lib.generator.arrays import random_stream
from orchestration.lib.generator.catalogue import Catalogue
from orchestration.lib.generator.writer import ISO_Z

Row = dict[str, str]
Change = Callable[[Row, int], None]  # changes a copied row; gets the row's index among the rule's rows
Where = Callable[[Row], bool]
Planted = dict[str, list[tuple[Rule, Row]]]

SAMPLE_ROWS = 2_000  # clean rows of the first chunk the planted rows are copied from
BAD_DATES = ("not-a-date", "yesterday", "2024-13-45", "tbd", "2024-02-30", "soon", "never", "someday", "31-31-31",
             "last week")
BAD_TIMESTAMPS = ("not-a-timestamp", "yesterday", "2025-13-40T00:00:00Z", "soon", "tbd", "never", "last week",
                  "2024-02-30T25:61:00Z", "someday", "later")
BAD_NUMBERS = ("abc", "one", "seven", "1.2.3", "x1", "lots", "ten", "twelve", "1e", "--5")
BAD_BOOLEANS = ("maybe", "perhaps", "unknown", "2", "ja", "oui", "si", "nope", "truthy", "-")
BAD_EMAILS = ("bob at example.com", "alice@", "@example.com", "no-at-sign.example.com", "two@@example.com",
              "space in@example.com", "carol@example", "dave@@", "eve@ example.com", "plainaddress")
BAD_CURRENCIES = ("XYZ", "ABC", "QQQ")
FRESH_KEY_PREFIX = {"customer_id": "cus_x", "product_id": "prd_x", "plan_id": "pln_x", "contact_id": "ct_x",
                    "order_id": "ord_x", "item_id": "si_x", "event_id": "ev_x"}


def plant_rows(catalogue: Catalogue, seed: int, samples: dict[str, pa.Table], n_customers: int) -> Planted:
    """The planted rows per table, from the small tables and `samples` (the first chunk's leading rows)."""
    rows = {name: _text_rows(table, SAMPLE_ROWS) for name, table in samples.items()}
    for name, table in catalogue.small_tables().items():
        rows[name] = _text_rows(table, len(table))
    planter = _Planter(random_stream(seed, 3), rows, catalogue.fx.first_day, n_customers)
    for name, plant_table in _PLANTINGS.items():
        plant_table(_TablePlanter(planter, name))
    return planter.planted


def rule_counts(rows: list[tuple[Rule, Row]]) -> dict[str, int]:
    """Rule value -> planted rows, in the order the rules were planted."""
    return dict(Counter(rule.value for rule, _row in rows))


def _text(value: Any) -> str:
    """A value as the loader reads it from CSV."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime(ISO_Z)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _text_rows(table: pa.Table, count: int) -> list[Row]:
    """The first `count` rows of `table` as text."""
    return [{key: _text(value) for key, value in row.items()} for row in table.slice(0, count).to_pylist()]


def _any_row(row: Row) -> bool:
    """Any row may be copied."""
    return True


def setter(**values: str) -> Change:
    """A change that sets `values`."""
    def change(row: Row, index: int) -> None:
        row.update(values)
    return change


class _Planter:
    """Copies clean rows, changes them, and keeps them with the rule each breaks."""

    def __init__(self, rng: np.random.Generator, rows: dict[str, list[Row]], fx_first_day: int,
                 n_customers: int) -> None:
        self.rng, self.rows, self.fx_first_day, self.n_customers = rng, rows, fx_first_day, n_customers
        self.planted: Planted = {name: [] for name in TABLE_NAMES}
        self._last_key = 0

    def plant(self, table: str, rule: Rule, change: Change, where: Where = _any_row, distinct: bool = False) -> None:
        """3-7 rows of `table` breaking `rule`: copies of clean rows matching `where` (with `distinct`, of
        different rows), each changed by `change`."""
        count = int(self.rng.integers(3, 8))
        if not any(where(row) for row in self.rows[table]):
            return  # nothing to base the row on (only at tiny scales)
        bases = self._pick(table, where, count) if distinct else [self._pick(table, where)[0] for _ in range(count)]
        for index, row in enumerate(bases):
            change(row, index)
            self.planted[table].append((rule, row))

    def _pick(self, table: str, where: Where, count: int = 1) -> list[Row]:
        """Copies of `count` different clean rows matching `where` (fewer if there are not enough)."""
        candidates = [row for row in self.rows[table] if where(row)]
        chosen = self.rng.choice(len(candidates), min(count, len(candidates)), replace=False)
        return [dict(candidates[int(pick)]) for pick in chosen]

    def new_key(self) -> int:
        """A number no planted key has used yet."""
        self._last_key += 1
        return self._last_key

    def with_key(self, table: str, /, **values: Any) -> Change:
        """Give the row a fresh key that exists nowhere else, then set `values` (callables get the index)."""
        def change(row: Row, index: int) -> None:
            self._fresh_key(table, row)
            for column, value in values.items():
                row[column] = value(index) if callable(value) else value
        return change

    def _fresh_key(self, table: str, row: Row) -> None:
        """Set the row's key (for fx_rates the date, for order_items the line number) to one never used."""
        number = self.new_key()
        if table == "fx_rates":  # a date before the history
            first = date(1970, 1, 1).toordinal() + self.fx_first_day
            row["rate_date"] = date.fromordinal(first - number).isoformat()
        elif table == "order_items":  # a line number no order has
            row["line_number"] = str(100 + number)
        else:
            key = TABLES_BY_NAME[table].key[0]
            prefix = FRESH_KEY_PREFIX[key]
            row[key] = f"{prefix}{number:0{12 - len(prefix)}d}"

    def unknown_customer(self, index: int) -> str:
        """A customer ID no customer has."""
        return f"cus_z{self.n_customers + index:07d}"


@dataclass(frozen=True)
class _TablePlanter:
    """`_Planter.plant` and `_Planter.with_key` for one table: `plant(rule, change)`, `plant.fresh(**values)`."""

    planter: _Planter
    table: str

    def __call__(self, rule: Rule, change: Change, where: Where = _any_row, distinct: bool = False) -> None:
        self.planter.plant(self.table, rule, change, where, distinct)

    def fresh(self, **values: Any) -> Change:
        """A change giving the row a fresh key, then `values`."""
        return self.planter.with_key(self.table, **values)


def _fx_rates(plant: _TablePlanter) -> None:
    """Missing currencies, bad and negative rates (on dates before the history), bad dates, repeated keys."""
    plant(Rule.MISSING_KEY, plant.fresh(currency=""))
    plant(Rule.INVALID_NUMBER, plant.fresh(usd_per_unit=lambda i: BAD_NUMBERS[i]))
    plant(Rule.NEGATIVE_VALUE, plant.fresh(usd_per_unit="-1.0850"))
    plant(Rule.UNPARSEABLE_TIMESTAMP, lambda row, i: row.update(rate_date=BAD_DATES[i]), distinct=True)
    plant(Rule.REPEATED_KEY,  # another rate, within the 8 decimals a rate holds (more is too_many_decimals)
          lambda row, i: row.update(usd_per_unit=format(
              (Decimal(row["usd_per_unit"]) * Decimal("1.01")).quantize(Decimal("1e-8")), "f")),
          distinct=True)


def _customers(plant: _TablePlanter) -> None:
    """Missing keys and names, unknown segments and countries, bad timestamps, repeated keys."""
    plant(Rule.MISSING_KEY, setter(customer_id=""))
    plant(Rule.MISSING_VALUE, plant.fresh(name=""))
    plant(Rule.INVALID_ENUM, plant.fresh(segment=lambda i: (
        "startup", "consumer", "government", "partner", "nonprofit", "reseller", "unknown")[i]))
    plant(Rule.INVALID_COUNTRY, plant.fresh(country=lambda i: (
        "Germany", "USA", "France", "United Kingdom", "Japan", "Deutschland", "Spain")[i]))
    plant(Rule.UNPARSEABLE_TIMESTAMP, plant.fresh(created_at=lambda i: BAD_TIMESTAMPS[i]))
    plant(Rule.REPEATED_KEY, lambda row, i: row.update(name=row["name"] + " (duplicate)"), distinct=True)


def _products(plant: _TablePlanter) -> None:
    """Missing keys and names, bad and negative prices, bad booleans, unknown currencies, repeated keys."""
    plant(Rule.MISSING_KEY, setter(product_id=""))
    plant(Rule.MISSING_VALUE, plant.fresh(name=""))
    plant(Rule.INVALID_NUMBER, plant.fresh(list_price=lambda i: BAD_NUMBERS[i]))
    plant(Rule.NEGATIVE_VALUE, plant.fresh(list_price="-19.99"))
    plant(Rule.INVALID_BOOLEAN, plant.fresh(is_active=lambda i: BAD_BOOLEANS[i]))
    plant(Rule.UNKNOWN_CURRENCY, plant.fresh(currency=lambda i: BAD_CURRENCIES[i % 3]))
    plant(Rule.REPEATED_KEY, lambda row, i: row.update(name=row["name"] + " v2"), distinct=True)


def _plans(plant: _TablePlanter) -> None:
    """Missing keys and names, unknown periods, bad limits, negative prices, bad booleans and currencies, repeats."""
    plant(Rule.MISSING_KEY, setter(plan_id=""))
    plant(Rule.MISSING_VALUE, plant.fresh(name=""))
    plant(Rule.INVALID_ENUM, plant.fresh(billing_period=lambda i: ("weekly", "daily", "quarter")[i % 3]))
    plant(Rule.INVALID_NUMBER, plant.fresh(seat_limit=lambda i: BAD_NUMBERS[i]))
    plant(Rule.NEGATIVE_VALUE, plant.fresh(price="-8.00"))
    plant(Rule.INVALID_BOOLEAN, plant.fresh(per_seat=lambda i: BAD_BOOLEANS[i]))
    plant(Rule.UNKNOWN_CURRENCY, plant.fresh(currency="XYZ"))
    plant(Rule.REPEATED_KEY, lambda row, i: row.update(price="999.00"), distinct=True)


def _contacts(plant: _TablePlanter) -> None:
    """The samples are latest versions; planted contacts are never primary."""

    def contact(**values: Any) -> Change:
        """A fresh, non-primary contact with `values`."""
        return plant.fresh(is_primary="false", **values)

    plant(Rule.MISSING_KEY, setter(contact_id="", is_primary="false"))
    plant(Rule.MALFORMED_EMAIL, contact(email=lambda i: BAD_EMAILS[i]))
    plant(Rule.MISSING_VALUE, contact(email=""))
    plant(Rule.UNKNOWN_REFERENCE, contact(customer_id=plant.planter.unknown_customer))
    plant(Rule.INVALID_BOOLEAN, contact(email_opt_in=lambda i: BAD_BOOLEANS[i]))
    plant(Rule.UNPARSEABLE_TIMESTAMP, contact(updated_at=lambda i: BAD_TIMESTAMPS[i]))
    plant(Rule.CONFLICTING_VERSION, lambda row, i: row.update(email="changed." + row["email"]), distinct=True)


def _orders(plant: _TablePlanter) -> None:
    """The samples are latest versions; planted order headers get no order_items."""

    def delivered_before_ordered(row: Row, index: int) -> None:
        """A fresh order delivered two days before it was placed."""
        plant.fresh()(row, index)
        delivered = datetime.strptime(row["ordered_at"], ISO_Z) - timedelta(days=2)
        row.update(status="delivered", delivered_at=delivered.strftime(ISO_Z), updated_at=row["ordered_at"])

    plant(Rule.MISSING_KEY, setter(order_id=""))
    plant(Rule.UNKNOWN_CURRENCY, plant.fresh(currency=lambda i: BAD_CURRENCIES[i % 3]))
    plant(Rule.UNPARSEABLE_TIMESTAMP,
          plant.fresh(ordered_at=lambda i: BAD_TIMESTAMPS[i], status="placed", delivered_at=""))
    plant(Rule.UNKNOWN_REFERENCE, plant.fresh(customer_id=plant.planter.unknown_customer))
    plant(Rule.INVALID_ENUM, plant.fresh(status=lambda i: ("lost", "stolen", "pending")[i % 3]))
    plant(Rule.INVALID_RANGE, delivered_before_ordered)
    plant(Rule.CONFLICTING_VERSION, setter(status="returned"), where=lambda row: row["status"] == "delivered",
          distinct=True)


def _order_items(plant: _TablePlanter) -> None:
    """Attached to existing clean orders under unused line numbers."""
    plant(Rule.NEGATIVE_VALUE, plant.fresh(quantity="-1"))
    plant(Rule.INVALID_NUMBER, plant.fresh(quantity=lambda i: ("2.5", "two", "1.5")[i % 3]))
    plant(Rule.UNKNOWN_REFERENCE, plant.fresh(order_id=lambda i: f"ord_y{i:07d}"))
    plant(Rule.UNKNOWN_REFERENCE, plant.fresh(product_id=lambda i: f"prd_y{i:07d}"))
    plant(Rule.REPEATED_KEY, lambda row, i: row.update(quantity=str(int(row["quantity"]) + 1)), distinct=True)


def _subscription_items(plant: _TablePlanter) -> None:
    """Plan rows of fresh subscriptions (so no history conflicts), and repeated item keys."""

    def item(**values: Any) -> Change:
        """A fresh item of a fresh subscription, with `values`."""
        def change(row: Row, index: int) -> None:
            plant.fresh(**values)(row, index)
            row["subscription_id"] = f"sub_x{plant.planter.new_key():07d}"
        return change

    def ends_before_start(row: Row, index: int) -> None:
        """A fresh item valid until the day before it starts."""
        item()(row, index)
        row["valid_to"] = (datetime.strptime(row["valid_from"], ISO_Z) - timedelta(days=1)).strftime(ISO_Z)

    def plan_row(row: Row) -> bool:
        """Plan rows only (add-on rows have no plan_id to break)."""
        return row["kind"] == "plan"

    plant(Rule.MISSING_KEY, setter(item_id=""), where=plan_row)
    plant(Rule.MISSING_VALUE, item(plan_id=""), where=plan_row)
    plant(Rule.UNKNOWN_REFERENCE, item(plan_id="no-such-plan"), where=plan_row)
    plant(Rule.INVALID_RANGE, ends_before_start, where=plan_row)
    plant(Rule.NEGATIVE_VALUE, item(quantity="-2"), where=plan_row)
    plant(Rule.INVALID_NUMBER, item(quantity=lambda i: BAD_NUMBERS[i]), where=plan_row)
    plant(Rule.INVALID_ENUM, item(status=lambda i: ("expired", "deleted", "past_due")[i % 3]), where=plan_row)
    plant(Rule.UNPARSEABLE_TIMESTAMP, item(valid_from=lambda i: BAD_TIMESTAMPS[i], valid_to=""), where=plan_row)
    plant(Rule.REPEATED_KEY, lambda row, i: row.update(quantity=str(int(row["quantity"]) + 3)), distinct=True)


def _usage_events(plant: _TablePlanter) -> None:
    """Missing keys and features, unknown metrics and customers, bad and negative values, bad timestamps, repeats."""
    plant(Rule.MISSING_KEY, setter(event_id=""))
    plant(Rule.MISSING_VALUE, plant.fresh(metric="feature_blocked", value="1", feature=""))
    plant(Rule.INVALID_ENUM, plant.fresh(metric=lambda i: ("cpu", "memory", "logins")[i % 3], feature=""))
    plant(Rule.NEGATIVE_VALUE, plant.fresh(value="-5"))
    plant(Rule.INVALID_NUMBER, plant.fresh(value=lambda i: BAD_NUMBERS[i]))
    plant(Rule.UNKNOWN_REFERENCE, plant.fresh(customer_id=plant.planter.unknown_customer))
    plant(Rule.UNPARSEABLE_TIMESTAMP, plant.fresh(occurred_at=lambda i: BAD_TIMESTAMPS[i]))
    plant(Rule.REPEATED_KEY, lambda row, i: row.update(value="1"), distinct=True)


_PLANTINGS: dict[str, Callable[[_TablePlanter], None]] = {
    "fx_rates": _fx_rates, "customers": _customers, "products": _products, "plans": _plans, "contacts": _contacts,
    "orders": _orders, "order_items": _order_items, "subscription_items": _subscription_items,
    "usage_events": _usage_events,
}

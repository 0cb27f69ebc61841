"""The one place that turns warehouse values into JSON-ready ones; each vendor formats on top of it.

`json_value` is what every sync model's payload goes through on its way out of the warehouse (delivery does it
once per row, so the ledger's hashes, the outbox and the destinations all see the same values): instants as ISO
8601 UTC text to the second, dates as ISO dates, decimals as exact plain text, NaN and infinities as None, lists
and structs converted item by item, numpy scalars as Python ones. A vendor that wants something else of one kind
(Klaviyo: decimals as JSON numbers) passes its own formatter for that kind; HubSpot, which takes only text,
turns the JSON-ready value into text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

DecimalFormat = Callable[[Decimal], Any]
InstantFormat = Callable[[datetime], str]


def as_utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive instant is UTC already in this project (`<event>_at` columns)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def utc_text(moment: datetime) -> str:
    """An instant as ISO 8601 UTC text to the second: `2026-11-22T08:30:00Z`."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def decimal_text(number: Decimal) -> str:
    """A finite decimal as exact plain text, never with an exponent: `Decimal("1E+3")` is `1000`."""
    return format(number, "f")


def json_value(value: Any, *, decimal: DecimalFormat = decimal_text, instant: InstantFormat = utc_text) -> Any:
    """`value` as something JSON encodes faithfully: None, bool, int, float, str, list or dict (of the same).

    `decimal` formats a finite Decimal and `instant` a datetime (given in UTC); a non-finite number becomes None,
    anything else unknown its text.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return decimal(value) if value.is_finite() else None
    if isinstance(value, datetime):
        return instant(as_utc(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(name): json_value(item, decimal=decimal, instant=instant) for name, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_value(item, decimal=decimal, instant=instant) for item in value]
    if callable(getattr(value, "item", None)):  # numpy scalars
        return json_value(value.item(), decimal=decimal, instant=instant)
    return str(value)

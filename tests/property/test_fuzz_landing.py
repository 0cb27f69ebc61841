"""Fuzzed landing files: random well-formed and malformed rows and files through the loader.

Each example writes one table's landing files (CSV, Parquet as text or with native types, or parts of both) and
loads them with `load_table` into a copy of a small warehouse whose parent tables are loaded, the call each raw
asset of the load job makes. Every row is generated with the outcome the contract gives it: loaded (with the value
`raw.<table>` must hold), superseded, or quarantined with a named rule. The properties:

- the load never raises anything but `LandingError`, and only for a file the test broke on purpose (an unterminated
  quote, a line with too many or too few fields, bytes that are not UTF-8, a repeated or reserved header, an empty
  file, a corrupt Parquet part); its message is one sentence naming the file (and the line);
- rows read = loaded + superseded + quarantined in the load's result, `audit.load_history` and `audit.load_counts`,
  and each equals the rows written and the rows of the raw, superseded and quarantine tables;
- every row lands where its outcome says: quarantined rows with their rule, a non-empty `_rule`, their
  `_source_file` and `_source_row`; loaded rows with exactly the value the contract reads from the text (nothing
  rounded, nothing re-cased but what the README's "What real extracts send" says).

Seeded and bounded (`derandomize=True`, `database=None`; 6-12 examples per table or breakage, 52 tests, about 300
examples): about a minute on two cores. A failure prints the example and a `@reproduce_failure` blob.
"""

from __future__ import annotations

import csv
import random
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from orchestration.lib.contract import MONEY, RATE, TABLES, TABLES_BY_NAME, Column, Rule, Table
from orchestration.lib.loader import LandingError, load_table, rules

FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

# --- the parents every fuzzed table may point at: loaded once into a base warehouse ---------------------------------

PARENTS: dict[str, list[dict[str, str]]] = {
    "fx_rates": [{"currency": "EUR", "rate_date": "2026-01-01", "usd_per_unit": "1.10"},
                 {"currency": "GBP", "rate_date": "2026-01-01", "usd_per_unit": "1.25"}],
    "customers": [{"customer_id": "c1", "name": "Acme", "email_domain": "acme.com", "segment": "smb", "country": "US",
                   "created_at": "2025-01-01T00:00:00Z"},
                  {"customer_id": "c2", "name": "Beta", "email_domain": "beta.de", "segment": "enterprise",
                   "country": "DE", "created_at": "2025-02-01T00:00:00Z"}],
    "products": [{"product_id": "p1", "sku": "S1", "name": "Camera", "category": "C", "family": "F", "tier": "1",
                  "list_price": "100", "currency": "USD", "is_active": "true"},
                 {"product_id": "p2", "sku": "S2", "name": "Card", "category": "C", "family": "F", "tier": "",
                  "list_price": "10", "currency": "EUR", "is_active": "false"}],
    "plans": [{"plan_id": "pl1", "name": "Starter", "family": "W", "tier": "1", "billing_period": "month",
               "price": "8", "per_seat": "true", "currency": "USD", "seat_limit": "10", "storage_limit_gb": "100",
               "api_calls_limit": "10000", "features": "core;chat"}],
    "contacts": [{"contact_id": "k1", "customer_id": "c1", "email": "ann@acme.com", "first_name": "Ann",
                  "is_primary": "true", "email_opt_in": "true", "unsubscribed_at": "",
                  "updated_at": "2026-01-01T00:00:00Z"}],
    "orders": [{"order_id": "o1", "customer_id": "c1", "ordered_at": "2026-11-01T10:00:00Z", "status": "delivered",
                "delivered_at": "2026-11-03T10:00:00Z", "currency": "USD", "updated_at": "2026-11-03T10:00:00Z"}],
    "order_items": [{"order_id": "o1", "line_number": "1", "product_id": "p1", "quantity": "1", "unit_price": "100",
                     "discount": "0"}],
    "subscription_items": [{"item_id": "s1", "subscription_id": "sub1", "customer_id": "c1", "kind": "plan",
                            "plan_id": "pl1", "product_id": "", "quantity": "3", "unit_price": "8",
                            "billing_period": "month", "currency": "USD", "status": "active",
                            "valid_from": "2026-01-01T00:00:00Z", "valid_to": ""}],
    "usage_events": [{"event_id": "e1", "customer_id": "c1", "occurred_at": "2026-11-01T00:00:00Z",
                      "metric": "active_seats", "value": "3", "feature": ""}],
}
PARENT_KEYS = {"customers": ["c1", "c2"], "products": ["p1", "p2"], "plans": ["pl1"], "orders": ["o1"]}
KNOWN_CURRENCIES = ["USD", "EUR", "GBP"]


def write_plain_csv(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def base_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse file with every table loaded from `PARENTS` (the fuzzed table is then loaded again on a copy)."""
    folder = tmp_path_factory.mktemp("fuzz-base")
    for table, rows in PARENTS.items():
        write_plain_csv(folder / "landing" / f"{table}.csv", rows)
    warehouse = folder / "base.duckdb"
    con = duckdb.connect(str(warehouse))
    try:
        for table in TABLES:
            load_table(con, folder / "landing", table)
    finally:
        con.close()
    return warehouse


# --- cells: a value as text, and what the contract makes of it ------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One value as written (None: left empty) and its fate: `expected` as loaded, or the rule it breaks."""

    text: str | None
    expected: Any = None
    rule: Rule | None = None
    native: Any = None  # the value in its own Parquet type, when it has one

    @property
    def ok(self) -> bool:
        return self.rule is None


def ok(text: str | None, expected: Any, native: Any = None) -> Cell:
    return Cell(text, expected, None, expected if native is None else native)


def bad(text: str | None, rule: Rule) -> Cell:
    return Cell(text, None, rule)


def cased(word: str) -> st.SearchStrategy[str]:
    """`word` in mixed case: as is, upper, title, or letter by letter."""
    return st.one_of(st.just(word), st.just(word.upper()), st.just(word.title()),
                     st.lists(st.booleans(), min_size=len(word), max_size=len(word)).map(
                         lambda flips: "".join(c.upper() if f else c for c, f in zip(word, flips, strict=True))))


def padded(text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Sometimes with spaces around it (the loader trims spaces, and only spaces)."""
    return st.tuples(st.sampled_from(["", "", " ", "  "]), text, st.sampled_from(["", "", " "])).map("".join)


AWKWARD = st.characters(codec="utf-8", exclude_categories=("Cs",))
FREE_TEXT = st.text(alphabet=st.one_of(st.sampled_from(list(",;\"'\n\r\t |#\\é€株\x00")), AWKWARD), max_size=12)


@st.composite
def free_text(draw: st.DrawFn, required: bool, huge: bool = False) -> Cell:
    """Any text, now and then (`huge`) one of up to 500 kB; the loader keeps it as written but for spaces at either
    end."""
    if huge and draw(st.integers(0, 20)) == 0:
        text = draw(st.sampled_from(["ü", "x", "\u00e9,\""])) * draw(st.integers(20_000, 100_000))
    else:
        text = draw(FREE_TEXT)
    value = text.strip(" ") or None
    if value is None and required:
        text, value = "x" + text, ("x" + text).strip(" ")
    return ok(text or None, value)


def number_text(value: Decimal, form: str) -> str:
    if form == "plain":
        return format(value, "f")
    if form == "zeros":  # trailing zeros beyond the column's scale keep the value exact
        return format(value, "f") + ("" if "." in format(value, "f") else ".") + "0000"
    if form == "plus":
        return "+" + format(value, "f")
    return format(value, "E")  # exponent form, e.g. 1.5000E+2


@st.composite
def decimal_cell(draw: st.DrawFn, scale: int, non_negative: bool) -> Cell:
    units = draw(st.integers(0 if non_negative else -10**9, 10**9))
    places = draw(st.integers(0, scale))
    value = Decimal(units).scaleb(-places)
    text = number_text(value, draw(st.sampled_from(["plain", "plain", "zeros", "plus", "exponent"])))
    if text.startswith("+-"):
        text = text[1:]
    return ok(draw(padded(st.just(text))), value, value)


@st.composite
def integer_cell(draw: st.DrawFn, non_negative: bool) -> Cell:
    number = draw(st.integers(0 if non_negative else -1000, 100_000))
    # `1.0` as a whole number is the same number: accepted as 1 (a pandas float column written out)
    text = draw(st.sampled_from([str(number), f"{number}.0", f"{number}.000", f"{number}e0"]
                                + ([f"+{number}"] if number >= 0 else [])))
    return ok(draw(padded(st.just(text))), number)


@st.composite
def timestamp_cell(draw: st.DrawFn, after: datetime | None = None) -> Cell:
    start = after or datetime(2020, 1, 1)
    moment = start + timedelta(seconds=draw(st.integers(0, 3 * 365 * 86400)), microseconds=draw(
        st.sampled_from([0, 0, 500_000, 123_456])))
    form = draw(st.sampled_from(["z", "space", "offset", "date"] if after is None else ["z", "space", "offset"]))
    if form == "date":
        moment = datetime.combine(moment.date(), datetime.min.time())
        return ok(moment.date().isoformat(), moment)
    if form == "offset":
        hours = draw(st.integers(-11, 12))
        local = moment.replace(tzinfo=UTC).astimezone(timezone(timedelta(hours=hours)))
        return ok(local.isoformat(), moment)
    text = moment.isoformat(sep="T" if form == "z" else " ") + ("Z" if form == "z" else "")
    return ok(text, moment)


BOOLEAN_WORDS = {"true": True, "false": False, "1": True, "0": False}
BAD_NUMBERS = ["abc", "1,234", "1.234,50", "1,234.50", "0x10", "1_000", "NaN", "inf", "-inf", "1e", "--5", "12 34",
               "€5", "5€", ""]
BAD_TIMESTAMPS = ["yesterday", "2026-02-30", "31/01/2026", "20260101", "epoch", "infinity", "2026-01-01T25:00:00Z",
                  "2026-13-01", "soon"]


def valid_cell(table: Table, column: Column, draw: st.DrawFn, huge: bool = False) -> Cell:
    """A value that breaks no rule (the dependent columns are set by `valid_row`)."""
    if column.references:
        key = draw(st.sampled_from(PARENT_KEYS[column.references[0]]))
        return ok(draw(padded(st.just(key))), key)
    if column.enum:
        word = draw(st.sampled_from(column.enum))
        return ok(draw(padded(cased(word))), word)  # mixed case is accepted, stored as the contract spells it
    if column.check in ("currency", "currency_code"):
        code = draw(st.sampled_from(KNOWN_CURRENCIES if column.check == "currency" else ["EUR", "JPY", "CHF"]))
        return ok(draw(padded(cased(code))), code)  # usd is USD
    if column.check == "country":
        code = draw(st.sampled_from(["US", "DE", "FR", "JP"]))
        return ok(draw(padded(cased(code))), code)
    if column.check == "email":
        local = draw(st.from_regex(r"[a-z0-9._+\-]{1,10}", fullmatch=True))
        domain = draw(st.from_regex(r"[a-z0-9\-]{1,8}\.[a-z]{2,4}", fullmatch=True))
        return ok(f"{local}@{domain}", f"{local}@{domain}")
    if column.type == MONEY:
        return draw(decimal_cell(4, column.non_negative))
    if column.type == RATE:
        return draw(decimal_cell(8, column.non_negative))
    if column.type in ("INTEGER", "BIGINT"):
        return draw(integer_cell(column.non_negative))
    if column.type == "DOUBLE":
        number = draw(st.floats(0 if column.non_negative else -1e9, 1e9, allow_nan=False, allow_infinity=False))
        return ok(draw(padded(st.just(repr(number)))), number)
    if column.type == "BOOLEAN":
        word = draw(st.sampled_from(list(BOOLEAN_WORDS)))
        return ok(draw(cased(word)), BOOLEAN_WORDS[word])
    if column.type == "TIMESTAMP":
        return draw(timestamp_cell())
    if column.type == "DATE":
        day = date(2020, 1, 1) + timedelta(days=draw(st.integers(0, 2000)))
        return ok(day.isoformat(), day)
    return draw(free_text(required=column.required, huge=huge))


def bad_cells(table: Table, column: Column) -> list[Cell]:
    """Values of `column` that break exactly one rule, each with it (none for a free-text column)."""
    options: list[Cell] = []
    if column.name in table.key:
        options += [bad("", Rule.MISSING_KEY), bad("   ", Rule.MISSING_KEY)]
    elif column.required:
        options += [bad("", Rule.MISSING_VALUE), bad("  ", Rule.MISSING_VALUE)]
    if column.references:
        options += [bad("nope-404", Rule.UNKNOWN_REFERENCE), bad("C1", Rule.UNKNOWN_REFERENCE)]
    elif column.enum:
        options += [bad(word, Rule.INVALID_ENUM) for word in ("lost", "Deliverd", "d\u00e9livered", "plan s", "?")]
    elif column.check == "currency":
        options += [bad(code, Rule.UNKNOWN_CURRENCY) for code in ("XYZ", "US$", "usdollar", "u\u017fd", "JPY")]
    elif column.check == "currency_code":
        options += [bad(code, Rule.UNKNOWN_CURRENCY) for code in ("EURO", "E1R", "\u20ac", "eu")]
    elif column.check == "country":
        options += [bad(code, Rule.INVALID_COUNTRY) for code in ("Germany", "D1", "\u00c4\u00d6", "USA")]
    elif column.check == "email":
        options += [bad(text, Rule.MALFORMED_EMAIL) for text in ("bob at x.com", "a@b", "@x.com", "a b@x.com")]
    elif column.type in (MONEY, RATE):
        places = 4 if column.type == MONEY else 8
        options += [bad(text, Rule.INVALID_NUMBER) for text in BAD_NUMBERS if text]
        options += [bad(text, Rule.TOO_MANY_DECIMALS) for text in
                    ("1." + "0" * places + "1", "0." + "0" * (places - 1) + "15", "1.5e-" + str(places + 1),
                     "19.99999999999")]
    elif column.type in ("INTEGER", "BIGINT"):
        options += [bad(text, Rule.INVALID_NUMBER) for text in [*BAD_NUMBERS, "2.5", "1.0000000001", "25e-1"] if text]
    elif column.type == "DOUBLE":
        options += [bad(text, Rule.INVALID_NUMBER) for text in BAD_NUMBERS if text]
    elif column.type == "BOOLEAN":
        options += [bad(text, Rule.INVALID_BOOLEAN) for text in ("maybe", "ja", "wahr", "nope", "2")]
    elif column.type in ("TIMESTAMP", "DATE"):
        options += [bad(text, Rule.UNPARSEABLE_TIMESTAMP) for text in BAD_TIMESTAMPS]
    if column.non_negative:
        options += [bad("-1", Rule.NEGATIVE_VALUE), bad("-0.5" if column.type != "INTEGER" else "-3",
                                                        Rule.NEGATIVE_VALUE)]
    return options


# --- rows -----------------------------------------------------------------------------------------------------------

Row = dict[str, Cell]


def key_cell(table: Table, column: Column, index: int, draw: st.DrawFn) -> Cell:
    """A key value no other row of the example has (the index makes it unique, whatever the suffix)."""
    if column.references:  # order_items.order_id: the line number makes the key unique
        return ok("o1", "o1")
    if column.type == "INTEGER":  # order_items.line_number
        number = 100 + index
        text = draw(st.sampled_from([str(number), f"{number}.0", f" {number} ", f"+{number}"]))
        return ok(text, number)
    if column.type == "DATE":  # fx_rates.rate_date
        day = date(2025, 1, 1) + timedelta(days=index)
        return ok(day.isoformat(), day)
    if column.check == "currency_code":
        return valid_cell(table, column, draw)
    suffix = draw(st.text(alphabet=st.sampled_from(list("abcXYZ09-_.,\"' é株")), max_size=4))
    key = f"{column.name[:2]}{index}-{suffix}"
    return ok(draw(padded(st.just(key))), key.strip(" "))


@st.composite
def valid_row(draw: st.DrawFn, table: Table, index: int) -> Row:
    row: Row = {}
    texts = [c.name for c in table.columns if c.type == "VARCHAR" and c.name not in table.key and not c.enum
             and not c.check and not c.references]
    for column in table.columns:
        row[column.name] = key_cell(table, column, index, draw) if column.name in table.key \
            else valid_cell(table, column, draw, huge=bool(texts) and column.name == texts[0])
    # the columns that depend on others
    if table.name == "subscription_items":
        if row["kind"].expected == "plan":
            row["plan_id"] = ok("pl1", "pl1")
            row["product_id"] = ok(None, None)
        else:
            product = draw(st.sampled_from(["p1", "p2"]))
            row["product_id"] = ok(product, product)
            row["plan_id"] = ok(None, None)
    if table.name == "usage_events":
        if row["metric"].expected == "feature_blocked":
            row["feature"] = draw(free_text(required=True))
        elif draw(st.booleans()):
            row["feature"] = ok(None, None)
    for earlier, later in table.range_checks:
        if draw(st.booleans()):
            row[later] = ok(None, None)
        else:
            row[later] = draw(timestamp_cell(after=row[earlier].expected))
    for column in table.columns:  # an empty value takes the column's default
        cell = row[column.name]
        if column.default is not None and (cell.expected is None or draw(st.integers(0, 4)) == 0):
            default = {"''": "", "false": False, "0": Decimal(0)}[column.default]
            row[column.name] = Cell(None if cell.expected is not None else cell.text, default, None, None)
        elif column.default is None and not column.required and column.name not in table.key \
                and not column.references \
                and not column.required_when and draw(st.integers(0, 5)) == 0:
            row[column.name] = ok(None, None)  # optional and empty
    return row


def faultable(table: Table, row: Row) -> list[Column]:
    """The columns whose value can break a rule on its own in this row."""
    columns = []
    for column in table.columns:
        if column.required_when or column.references_when:
            continue  # they depend on kind or metric: see `dependent_faults`
        columns.append(column)
    return columns


def dependent_faults(table: Table, row: Row) -> list[tuple[str, Cell]]:
    """The plan or add-on product a subscription line's kind requires, the feature a blocked-feature event names."""
    if table.name == "subscription_items":
        name = "plan_id" if row["kind"].expected == "plan" else "product_id"
        return [(name, bad("", Rule.MISSING_VALUE)), (name, bad("nope-404", Rule.UNKNOWN_REFERENCE))]
    if table.name == "usage_events" and row["metric"].expected == "feature_blocked":
        return [("feature", bad(" ", Rule.MISSING_VALUE))]
    return []


@st.composite
def fuzzed_row(draw: st.DrawFn, table: Table, index: int) -> Row:
    """A valid row (a third of them), or one with exactly one value (or one range) that breaks a rule, the rule
    chosen evenly among those the table has (Hypothesis' own choices lean to the first options)."""
    row = draw(valid_row(table, index))
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    if rng.random() < 1 / 3:
        return row
    options: dict[Rule, list[tuple[str, Cell]]] = {}
    for column in faultable(table, row):
        for cell in bad_cells(table, column):
            options.setdefault(cell.rule, []).append((column.name, cell))
    for name, cell in dependent_faults(table, row):
        options.setdefault(cell.rule, []).append((name, cell))
    for earlier, later in table.range_checks:
        before = row[earlier].expected - timedelta(hours=rng.randint(1, 1000))
        options.setdefault(Rule.INVALID_RANGE, []).append((later, bad(before.isoformat() + "Z", Rule.INVALID_RANGE)))
    rule = rng.choice(sorted(options))
    name, cell = rng.choice(options[rule])
    row[name] = cell
    return row


# --- writing the landing files ---------------------------------------------------------------------------------------


@dataclass
class Written:
    """The files of one table and, per (file, row), the row written there."""

    files: list[Path] = field(default_factory=list)
    rows: dict[tuple[str, int], Row] = field(default_factory=dict)


def arrow_type(column: Column) -> pa.DataType | None:
    return {"INTEGER": pa.int32(), "BIGINT": pa.int64(), "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_(),
            "TIMESTAMP": pa.timestamp("us"), "DATE": pa.date32(), "VARCHAR": pa.string(),
            MONEY: pa.decimal128(18, 4), RATE: pa.decimal128(18, 8)}.get(column.type)


def write_parquet(path: Path, names: list[str], table: Table, rows: list[Row], native: bool,
                  extras: dict[str, list[str]]) -> None:
    arrays, fields = [], []
    for name in names:
        cells = [row[name] for row in rows]
        column = table.column(name)
        typed = native and all(cell.ok for cell in cells) and arrow_type(column) is not None
        if typed:
            values = [None if cell.text is None else cell.native for cell in cells]
            if column.type in ("INTEGER", "BIGINT") and any(v is not None and not isinstance(v, int) for v in values):
                typed = False
        if typed:
            arrays.append(pa.array(values, arrow_type(column)))
        else:
            arrays.append(pa.array([cell.text for cell in cells], pa.string()))
        fields.append(name)
    for name, values in extras.items():
        arrays.append(pa.array(values, pa.string()))
        fields.append(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_arrays(arrays, names=fields), path, compression="snappy")


@dataclass(frozen=True)
class Layout:
    """How one table's rows are written: formats of the parts, column order, quirks of the CSV text."""

    formats: tuple[str, ...]  # per part: csv, parquet (text) or typed (Parquet with native types)
    shuffle_columns: bool = False
    extra_columns: tuple[str, ...] = ()
    bom: bool = False
    line_end: str = "\r\n"
    quote_all: bool = False
    final_newline: bool = True


def csv_field(value: str | None, quote_all: bool) -> str:
    """One field as RFC 4180 writes it: quoted when it holds a comma, a quote or a line break (CR too: Python's csv
    module leaves a lone CR unquoted when the line end is LF, which makes a file no reader can split)."""
    text = "" if value is None else value
    if quote_all or any(char in text for char in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_text(names: list[str], rows: list[list[str | None]], layout: Layout) -> str:
    lines = [",".join(csv_field(value, layout.quote_all) for value in values) for values in [names, *rows]]
    text = layout.line_end.join(lines) + (layout.line_end if layout.final_newline else "")
    return ("\ufeff" if layout.bom else "") + text


def write_table(landing: Path, table: Table, rows: list[Row], layout: Layout, rng: random.Random) -> Written:
    """`rows` split over the layout's parts in order, one file per part (a folder when there are several)."""
    written = Written()
    names = list(table.column_names)
    if layout.shuffle_columns:
        rng.shuffle(names)
    parts = len(layout.formats)
    chunks = [rows[i * len(rows) // parts:(i + 1) * len(rows) // parts] for i in range(parts)]
    for number, (form, chunk) in enumerate(zip(layout.formats, chunks, strict=True)):
        suffix = ".csv" if form == "csv" else ".parquet"
        path = landing / f"{table.name}{suffix}" if parts == 1 else landing / table.name / f"part-{number:03d}{suffix}"
        extras = {name: [f"{name}-{i}" for i in range(len(chunk))] for name in layout.extra_columns}
        if form == "csv":
            values = [[row[name].text for name in names] + extras_row for row, extras_row in
                      zip(chunk, [[extras[name][i] for name in extras] for i in range(len(chunk))], strict=True)]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(csv_text(names + list(extras), values, layout).encode("utf-8"))
        else:
            write_parquet(path, names, table, chunk, form == "typed", extras)
        written.files.append(path)
        for position, row in enumerate(chunk, start=1):
            written.rows[(str(path), position)] = row
    return written


# --- the load and what it must have done -----------------------------------------------------------------------------


@dataclass
class Loaded:
    con: duckdb.DuckDBPyConnection
    result: Any


@dataclass
class Example:
    """One example's folder: a copy of the base warehouse and an empty landing directory."""

    folder: Path
    warehouse: Path
    landing: Path


@contextmanager
def example_folder(base: Path) -> Iterator[Example]:
    with tempfile.TemporaryDirectory(prefix="fuzz-") as name:
        folder = Path(name)
        shutil.copy(base, folder / "w.duckdb")
        yield Example(folder, folder / "w.duckdb", folder / "landing")


def load(example: Example, table: Table) -> Loaded:
    """The fuzzed table loaded (a full load, as the load job's asset does it); only LandingError may escape."""
    con = duckdb.connect(str(example.warehouse))
    return Loaded(con, load_table(con, example.landing, table, run_id="fuzz", full_refresh=True))


def expected_fates(table: Table, written: Written) -> dict[tuple[str, int], str]:
    """Per written row: 'loaded', 'superseded' or the rule it breaks, as the contract decides it (file order is the
    path, then the row)."""
    fates: dict[tuple[str, int], str] = {}
    passing: dict[tuple, list[tuple[tuple[str, int], Row]]] = {}
    for position in sorted(written.rows):
        row = written.rows[position]
        rule = next((cell.rule for cell in row.values() if not cell.ok), None)
        if rule is not None:
            fates[position] = rule.value
            continue
        key = tuple(row[name].expected for name in table.key)
        passing.setdefault(key, []).append((position, row))
    for versions in passing.values():
        if table.versioned_by is None:
            fates[versions[0][0]] = "loaded"
            fates.update({position: Rule.REPEATED_KEY.value for position, _ in versions[1:]})
            continue
        latest = max(row[table.versioned_by].expected for _, row in versions)
        winner: Row | None = None
        for position, row in versions:
            content = {name: cell.expected for name, cell in row.items()}
            if row[table.versioned_by].expected < latest:
                fates[position] = "superseded"
            elif winner is None:
                winner, fates[position] = content, "loaded"
            else:
                fates[position] = "superseded" if content == winner else Rule.CONFLICTING_VERSION.value
    return fates


def same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, float) and isinstance(actual, float):
        return expected == actual
    if isinstance(expected, Decimal) and isinstance(actual, Decimal):
        return expected == actual
    return (expected == actual and type(expected) is type(actual)) or (expected is None and actual is None)


def check_load(loaded: Loaded, table: Table, written: Written) -> None:
    """The load's counts reconcile everywhere, and every written row is where its fate says, with its values."""
    con, result, name = loaded.con, loaded.result, table.name
    fates = expected_fates(table, written)
    for fate in sorted(set(fates.values())) if currently_in_test_context() else ():
        event(f"outcome: {fate}")  # Hypothesis's statistics; the negative proof below checks outside a test
    total = len(written.rows)
    raw = con.execute(f"select count(*) from raw.{name}").fetchone()[0]
    quarantine = con.execute(f"select count(*) from quarantine.{name}").fetchone()[0]
    superseded = con.execute(f"select count(*) from superseded.{name}").fetchone()[0] if table.versioned_by else 0
    assert (result.rows_read, result.rows_loaded, result.rows_superseded, result.rows_quarantined) == (
        total, raw, superseded, quarantine), "the load's result disagrees with the rows written and the tables"
    assert result.reconciles
    history = con.execute("select rows_read, rows_loaded, rows_superseded, rows_quarantined from audit.load_history "
                          "where table_name = ? order by load_id desc limit 1", [name]).fetchone()
    counts = con.execute("select rows_read, rows_loaded, rows_superseded, rows_quarantined from audit.load_counts "
                         "where table_name = ?", [name]).fetchone()
    assert history == counts == (total, raw, superseded, quarantine)
    assert counts[0] == counts[1] + counts[2] + counts[3]

    # Quarantine: exactly the rows that break a rule, each with its rule, file and row.
    key_texts = ", ".join(f'"{column}"' for column in table.key)
    rows = con.execute(f"select _rule, _column, _source_file, _source_row, {key_texts} from quarantine.{name}"
                       ).fetchall()
    found: dict[tuple[str, int], str] = {}
    for rule, _column, source_file, source_row, *keys in rows:
        assert rule, f"a quarantined row of {name} has no _rule"
        assert rule in {r.value for r in Rule}, rule
        assert source_file, f"a quarantined row of {name} has no _source_file"
        position = (source_file, source_row)
        assert position in written.rows, f"quarantine points at {position}, which holds no written row"
        assert position not in found, f"{position} quarantined twice"
        found[position] = rule
        # the original text is kept: the key as it was written (empty reads as NULL)
        for column, text in zip(table.key, keys, strict=True):
            original = written.rows[position][column].text
            assert (text or None) == (original or None) or str(written.rows[position][column].native) == text, \
                (position, column, text, original)
    wanted = {position: fate for position, fate in fates.items() if fate not in ("loaded", "superseded")}
    assert found == wanted, "quarantined rows or their rules differ from the contract's"

    # Superseded: exactly the older versions and copies.
    if table.versioned_by:
        positions = set(con.execute(f"select _source_file, _source_row from superseded.{name}").fetchall())
        assert positions == {position for position, fate in fates.items() if fate == "superseded"}

    # Raw: exactly the loaded rows, each value as the contract reads the text (nothing rounded or re-cased silently).
    columns = ", ".join(f'"{column}"' for column in table.column_names)
    stored = {tuple(row[table.column_names.index(k)] for k in table.key): row
              for row in con.execute(f"select {columns} from raw.{name}").fetchall()}
    assert len(stored) == raw, f"raw.{name} holds a key twice"
    loaded_rows = [written.rows[position] for position, fate in fates.items() if fate == "loaded"]
    assert len(loaded_rows) == raw
    for row in loaded_rows:
        key = tuple(row[k].expected for k in table.key)
        assert key in stored, f"{key} should be in raw.{name}"
        for index, column in enumerate(table.column_names):
            expected, actual = row[column].expected, stored[key][index]
            assert same(expected, actual), f"raw.{name}.{column} of {key}: wrote {row[column].text!r}, " \
                f"expected {expected!r}, loaded {actual!r}"


def assert_one_sentence(error: LandingError, path: Path, line: int | None = None) -> None:
    message = str(error)
    assert "\n" not in message and message.endswith("."), f"not one sentence: {message!r}"
    assert str(path) in message, f"the message does not name {path}: {message!r}"
    assert "Error:" not in message and "Traceback" not in message, message
    if line is not None:
        assert f"line {line}" in message, f"the message does not name line {line}: {message!r}"


# --- the properties ------------------------------------------------------------------------------------------------

FUZZED_TABLES = st.sampled_from(TABLES)
LAYOUTS = st.builds(
    Layout,
    formats=st.lists(st.sampled_from(["csv", "csv", "parquet", "typed"]), min_size=1, max_size=3).map(tuple),
    shuffle_columns=st.booleans(),
    extra_columns=st.lists(st.sampled_from(["source_system", "_fivetran_synced", "Notes (free)", "ü", "col,1",
                                            "quote\"d"]), max_size=2, unique=True).map(tuple),
    bom=st.booleans(), line_end=st.sampled_from(["\r\n", "\n"]), quote_all=st.booleans(),
    final_newline=st.booleans(),
)


def load_and_check(base_warehouse: Path, table: Table, rows: list[Row], layout: Layout) -> None:
    """Write `rows` in `layout`, load the table into a copy of the base warehouse, and check every row's fate."""
    with example_folder(base_warehouse) as example:
        written = write_table(example.landing, table, rows, layout, random.Random(len(rows)))
        loaded = load(example, table)
        try:
            check_load(loaded, table, written)
        finally:
            loaded.con.close()


@pytest.mark.parametrize("table", TABLES, ids=[table.name for table in TABLES])
@settings(FUZZ, max_examples=12)
@given(data=st.data(), layout=LAYOUTS)
def test_fuzzed_rows_land_where_the_contract_says(base_warehouse: Path, data: st.DataObject, table: Table,
                                                  layout: Layout) -> None:
    """Well-formed and malformed rows in any layout: each row is loaded with its exact value or quarantined with
    its rule, file and row, and the counts reconcile."""
    rows = [data.draw(fuzzed_row(table, index)) for index in range(data.draw(st.integers(1, 12)))]
    load_and_check(base_warehouse, table, rows, layout)


def test_the_check_fails_when_the_loader_rounds_silently(base_warehouse: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The property's check is not blind: with the loader's too_many_decimals rule switched off, DuckDB's cast
    rounds a price of 19.99999 to 20.0000 and loads it, and the check that passes the real loader fails."""
    table = TABLES_BY_NAME["order_items"]
    row = {"order_id": ok("o1", "o1"), "line_number": ok("7", 7), "product_id": ok("p1", "p1"),
           "quantity": ok("2", 2), "unit_price": bad("19.99999", Rule.TOO_MANY_DECIMALS),
           "discount": ok("0", Decimal("0"))}
    layout = Layout(formats=("csv",))
    load_and_check(base_warehouse, table, [row], layout)  # the real loader quarantines the row with its rule
    monkeypatch.setattr(rules, "excess_decimals", lambda *arguments: "false")
    with pytest.raises(AssertionError, match="quarantined rows or their rules differ from the contract's"):
        load_and_check(base_warehouse, table, [row], layout)


REPEATABLE = [TABLES_BY_NAME[name] for name in ("orders", "contacts", "customers", "order_items", "fx_rates")]


@st.composite
def repeated_rows(draw: st.DrawFn, table: Table) -> list[Row]:
    """Rows with repeated keys: exact copies, changed copies, and for orders and contacts older, newer and equal
    versions, in any order."""
    originals = [draw(valid_row(table, index)) for index in range(draw(st.integers(1, 5)))]
    rows = list(originals)
    changeable = [c for c in table.columns if c.name not in table.key and c.name != table.versioned_by
                  and not c.references and not c.required_when and not c.references_when and c.default is None
                  and c.name not in ("delivered_at", "valid_to", "ordered_at", "valid_from")]  # ranges stay valid
    for _ in range(draw(st.integers(1, 6))):
        copy = dict(draw(st.sampled_from(originals)))
        if draw(st.booleans()) and changeable:
            column = draw(st.sampled_from(changeable))
            copy[column.name] = valid_cell(table, column, draw)
        if table.versioned_by and draw(st.booleans()):
            version = copy[table.versioned_by].expected
            shift = timedelta(hours=draw(st.integers(-48, 48)))
            moved = version + shift
            copy[table.versioned_by] = ok(moved.isoformat() + "Z", moved, moved)
        rows.append(copy)
    return draw(st.permutations(rows))


@pytest.mark.parametrize("table", REPEATABLE, ids=[table.name for table in REPEATABLE])
@settings(FUZZ, max_examples=10)
@given(data=st.data(), layout=LAYOUTS)
def test_repeated_keys_and_versions_reconcile(base_warehouse: Path, data: st.DataObject, table: Table,
                                             layout: Layout) -> None:
    """Repeated keys over several parts: one row per key in raw (the latest version, else the first in file
    order), the others superseded or quarantined as `repeated_key` / `conflicting_version`; read = loaded +
    superseded + quarantined."""
    rows = data.draw(repeated_rows(table))
    load_and_check(base_warehouse, table, rows, layout)


# --- broken files ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Breakage:
    """What is done to one CSV part's text or one Parquet part's bytes, and the line the error must name."""

    kind: str
    row: int = 1  # the data row it breaks (1 = the first), for the line faults


def break_csv(path: Path, breakage: Breakage, names: list[str]) -> int | None:
    """Apply `breakage` to a CSV file; the file line the error names (the header is line 1), if any."""
    data = path.read_bytes()
    bom = data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    line_end = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(line_end)
    target = min(breakage.row, max(len(lines) - 1, 1))
    if breakage.kind == "empty":
        path.write_bytes(b"")
        return None
    if breakage.kind == "repeated_header":
        lines[0] += "," + names[0].upper().replace('"', '""').join('""')
    elif breakage.kind == "reserved_header":
        lines[0] += ",_rule"
    elif breakage.kind == "unterminated_quote":
        lines[target] = lines[target] + ',"never closed'
    elif breakage.kind == "extra_field":
        lines[target] += ",surplus"
    elif breakage.kind == "missing_field":
        lines[target] = lines[target].rsplit(",", 1)[0] if "," in lines[target] else ""
        if lines[target] == "":
            lines[target] = ","  # a line of two empty fields where the header has more (or one)
    elif breakage.kind == "not_utf8":
        head = line_end.join(lines[:target]) + line_end
        tail = line_end.join(lines[target:])
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + head.encode() + b"caf\xe9," + tail.encode())
        return target + 1
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + line_end.join(lines).encode())
    if breakage.kind in ("repeated_header", "reserved_header"):
        return None
    return target + 1


def corrupt_parquet(path: Path, kind: str) -> None:
    data = bytearray(path.read_bytes())
    if kind == "truncated":
        path.write_bytes(bytes(data[: len(data) // 2]))
    elif kind == "not_parquet":
        path.write_bytes(b"id,name\n1,this is a CSV file named .parquet\n")
    else:  # scrambled pages: everything between the magic number and the footer
        footer = int.from_bytes(data[-8:-4], "little") + 8
        for index in range(4, len(data) - footer):
            data[index] = (data[index] * 7 + 13) % 256
        path.write_bytes(bytes(data))


CSV_BREAKAGES = ["unterminated_quote", "extra_field", "missing_field", "not_utf8", "repeated_header",
                 "reserved_header", "empty"]
PARQUET_BREAKAGES = ["scrambled", "truncated", "not_parquet"]


@pytest.mark.parametrize("breakage", CSV_BREAKAGES + PARQUET_BREAKAGES)
@settings(FUZZ, max_examples=6)
@given(data=st.data(), table=FUZZED_TABLES, parts=st.integers(1, 3), broken=st.integers(0, 2), layout=LAYOUTS)
def test_a_broken_file_stops_the_load_in_one_sentence_naming_it(base_warehouse: Path, data: st.DataObject,
                                                                table: Table, parts: int, broken: int,
                                                                breakage: str, layout: Layout) -> None:
    """A broken part among good ones: `LandingError` naming the part (and the line), no traceback, and the warehouse
    left as it was (the load is one transaction)."""
    broken = min(broken, parts - 1)
    form = "csv" if breakage in CSV_BREAKAGES else "parquet"
    formats = tuple(form if i == broken else data.draw(st.sampled_from(["csv", "parquet", "typed"]))
                    for i in range(parts))
    # no values with line breaks: a CSV error names a line, and quoted line breaks make lines and rows differ
    rows = [{name: replace(cell, text=cell.text.replace("\n", " ").replace("\r", " ")) if cell.text else cell
             for name, cell in data.draw(valid_row(table, index)).items()}
            for index in range(parts * 3)]
    layout = replace(layout, formats=formats)
    with example_folder(base_warehouse) as example:
        written = write_table(example.landing, table, rows, layout, random.Random(parts))
        path = written.files[broken]
        line = None
        if form == "csv":
            with path.open(encoding="utf-8-sig", newline="") as handle:
                header = next(csv.reader(handle))
            line = break_csv(path, Breakage(breakage, data.draw(st.integers(1, 3))), header)
        else:
            corrupt_parquet(path, breakage)
        before = duckdb.connect(str(example.warehouse))
        try:
            snapshot = before.execute(f"select count(*) from raw.{table.name}").fetchone()[0]
        finally:
            before.close()
        con = duckdb.connect(str(example.warehouse))
        try:
            with pytest.raises(LandingError) as error:
                load_table(con, example.landing, table, run_id="fuzz", full_refresh=True)
            assert_one_sentence(error.value, path, line)
            assert con.execute(f"select count(*) from raw.{table.name}").fetchone()[0] == snapshot
        finally:
            con.close()


# --- the cases real extracts send, one by one ------------------------------------------------------------------------

REAL_EXTRACTS: list[tuple[str, str, str, Any]] = [
    # (table, column, text, what raw holds, or the rule that quarantines the row)
    ("orders", "currency", "usd", "USD"),  # ISO codes in any case: stored in capitals
    ("orders", "currency", "Eur", "EUR"),
    ("orders", "currency", "US$", Rule.UNKNOWN_CURRENCY),
    ("customers", "country", "de", "DE"),
    ("orders", "status", "Delivered", "delivered"),  # allowed values in any case: stored as the contract spells them
    ("orders", "status", "SHIPPED", "shipped"),
    ("orders", "status", "Deliverd", Rule.INVALID_ENUM),
    ("order_items", "line_number", "1.0", 1),  # a whole number written as a decimal: the same number
    ("order_items", "quantity", "2.000", 2),
    ("order_items", "quantity", "2.5", Rule.INVALID_NUMBER),
    ("order_items", "quantity", "1.0000000001", Rule.INVALID_NUMBER),
    ("customers", "customer_id", "1.0", "1.0"),  # identifiers are text: never rewritten
    ("order_items", "unit_price", "19.99", Decimal("19.99")),
    ("order_items", "unit_price", "19.990000", Decimal("19.99")),  # trailing zeros change nothing
    ("order_items", "unit_price", "19.99999", Rule.TOO_MANY_DECIMALS),  # would be rounded: refused
    ("order_items", "unit_price", "0.00001", Rule.TOO_MANY_DECIMALS),
    ("fx_rates", "usd_per_unit", "1.123456789", Rule.TOO_MANY_DECIMALS),
    ("fx_rates", "usd_per_unit", "1.12345678", Decimal("1.12345678")),
    ("order_items", "unit_price", "1,234.50", Rule.INVALID_NUMBER),  # thousands separators: locale-dependent
    ("order_items", "unit_price", "1.234,50", Rule.INVALID_NUMBER),
    ("order_items", "unit_price", "1234.50", Decimal("1234.5")),
    ("plans", "seat_limit", "0x10", Rule.INVALID_NUMBER),
    ("plans", "seat_limit", "1_000", Rule.INVALID_NUMBER),
    ("usage_events", "value", "NaN", Rule.INVALID_NUMBER),
    ("usage_events", "value", "1.5e3", 1500.0),
    ("customers", "created_at", "epoch", Rule.UNPARSEABLE_TIMESTAMP),
    ("products", "is_active", "TRUE", True),
]


@pytest.mark.parametrize(("table_name", "column", "text", "outcome"), REAL_EXTRACTS,
                         ids=[f"{t}.{c}={v!r}" for t, c, v, _ in REAL_EXTRACTS])
def test_what_real_extracts_send(base_warehouse: Path, table_name: str, column: str, text: str,
                                 outcome: Any) -> None:
    table = TABLES_BY_NAME[table_name]
    # a row of its own: the parent row with a new key, then the value
    new_key = {"fx_rates": ("rate_date", "2026-06-01"), "order_items": ("line_number", "7")}.get(
        table_name, (table.key[0], "new-key"))
    row = {**PARENTS[table_name][0], new_key[0]: new_key[1], column: text}
    with example_folder(base_warehouse) as example:
        write_plain_csv(example.landing / f"{table_name}.csv", [row])
        loaded = load(example, table)
        try:
            if isinstance(outcome, Rule):
                assert loaded.con.execute(f"select _rule, _column, \"{column}\" from quarantine.{table_name}"
                                          ).fetchall() == [(outcome.value, column, text)]
            else:
                assert loaded.con.execute(f"select \"{column}\" from raw.{table_name}").fetchall() == [(outcome,)]
                assert loaded.result.rows_quarantined == 0
        finally:
            loaded.con.close()


def test_a_huge_line_stops_the_load_naming_its_line(base_warehouse: Path) -> None:
    """A field of 3 MB: longer than the 2,000,000 bytes DuckDB's reader holds in a line."""
    row = dict(PARENTS["customers"][0], customer_id="huge", name="x" * 3_000_000)
    with example_folder(base_warehouse) as example:
        path = example.landing / "customers.csv"
        write_plain_csv(path, [dict(PARENTS["customers"][1]), row])
        con = duckdb.connect(str(example.warehouse))
        try:
            with pytest.raises(LandingError) as error:
                load_table(con, example.landing, TABLES_BY_NAME["customers"], full_refresh=True)
        finally:
            con.close()
        assert_one_sentence(error.value, path, 3)
        assert "longer than the 2,000,000 bytes" in str(error.value)



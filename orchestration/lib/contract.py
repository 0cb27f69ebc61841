"""The raw-data contract of ../shared/DATA_CONTRACT.md, as data.

Everything that knows the shape of the landing directory reads it from here: the loader (which turns
these declarations into DuckDB SQL), the sample-data generator (which plants rows breaking each rule) and
the dbt sources (whose YAML is checked against it in tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Rule(StrEnum):
    """Why a row went to quarantine. The value is what `_rule` holds."""

    MISSING_KEY = "missing_key"  # a key column is empty
    MISSING_VALUE = "missing_value"  # a required column is empty
    UNPARSEABLE_TIMESTAMP = "unparseable_timestamp"  # not ISO 8601
    INVALID_NUMBER = "invalid_number"  # not a number / not an integer
    TOO_MANY_DECIMALS = "too_many_decimals"  # more decimals than the column holds (it would be rounded)
    INVALID_BOOLEAN = "invalid_boolean"  # not true/false
    INVALID_ENUM = "invalid_enum"  # outside the allowed values
    INVALID_COUNTRY = "invalid_country"  # not an ISO 3166 alpha-2 code
    UNKNOWN_CURRENCY = "unknown_currency"  # no fx_rates for it (USD is always known)
    NEGATIVE_VALUE = "negative_value"  # a quantity, price or amount below zero
    MALFORMED_EMAIL = "malformed_email"
    INVALID_RANGE = "invalid_range"  # valid_to before valid_from, delivered before ordered
    UNKNOWN_REFERENCE = "unknown_reference"  # points at a key that is not in its raw table
    REPEATED_KEY = "repeated_key"  # a key seen earlier in the landing files
    CONFLICTING_VERSION = "conflicting_version"  # same key and updated_at, different content


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type the raw table holds
    required: bool = False
    enum: tuple[str, ...] | None = None
    non_negative: bool = False
    check: str | None = None  # extra rule: "email", "country", "currency"
    default: str | None = None  # SQL literal used when the value is empty
    required_when: str | None = None  # SQL predicate over typed columns making it required
    references: tuple[str, str] | None = None  # (table, column)
    references_when: str | None = None  # SQL predicate: only then is the reference checked
    description: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    versioned_by: str | None = None  # latest value wins; older versions are superseded
    range_checks: tuple[tuple[str, str], ...] = ()  # (earlier, later): later must not precede earlier
    description: str = ""
    depends_on: tuple[str, ...] = field(default=())

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)


TIMESTAMP = "TIMESTAMP"  # UTC, naive; ISO text with an offset is converted to UTC
MONEY = "DECIMAL(18,4)"
RATE = "DECIMAL(18,8)"

TABLES: tuple[Table, ...] = (
    Table(
        "fx_rates",
        key=("currency", "rate_date"),
        description="Daily foreign-exchange rates: how many US dollars one unit of a currency buys.",
        columns=(
            Column("currency", "VARCHAR", check="currency_code", description="ISO 4217 code."),
            Column("rate_date", "DATE", description="Day the rate applies from."),
            Column("usd_per_unit", RATE, required=True, non_negative=True,
                   description="US dollars per one unit of the currency."),
        ),
    ),
    Table(
        "customers",
        key=("customer_id",),
        description="One row per customer account (a company).",
        columns=(
            Column("customer_id", "VARCHAR", description="Stable identifier of the customer."),
            Column("name", "VARCHAR", required=True, description="Company name."),
            Column("email_domain", "VARCHAR", description="The company's e-mail domain."),
            Column("segment", "VARCHAR", required=True, enum=("smb", "mid_market", "enterprise"),
                   description="Sales segment: smb, mid_market or enterprise."),
            Column("country", "VARCHAR", check="country", description="ISO 3166 alpha-2 country code."),
            Column("created_at", TIMESTAMP, required=True, description="When the account was created (UTC)."),
        ),
    ),
    Table(
        "products",
        key=("product_id",),
        depends_on=("fx_rates",),
        description="One row per sellable product (catalogue items and subscription add-ons).",
        columns=(
            Column("product_id", "VARCHAR", description="Stable identifier of the product."),
            Column("sku", "VARCHAR", description="Stock-keeping unit."),
            Column("name", "VARCHAR", required=True, description="Product name shown to customers."),
            Column("category", "VARCHAR", description="Merchandising category."),
            Column("family", "VARCHAR", description="Product family whose members differ by tier."),
            Column("tier", "INTEGER",
                description="Rank within the family; higher is more premium. Empty when the product has no tiers."),
            Column("list_price", MONEY, required=True, non_negative=True, description="List price in `currency`."),
            Column("currency", "VARCHAR", required=True, check="currency", description="Currency of the list price."),
            Column("is_active", "BOOLEAN", required=True, description="Whether the product is still sold."),
        ),
    ),
    Table(
        "plans",
        key=("plan_id",),
        depends_on=("fx_rates",),
        description="One row per subscription plan: its tier in a plan family, price and limits.",
        columns=(
            Column("plan_id", "VARCHAR", description="Stable identifier of the plan."),
            Column("name", "VARCHAR", required=True, description="Plan name."),
            Column("family", "VARCHAR", required=True, description="Plan family (the ladder the plan sits on)."),
            Column("tier", "INTEGER", required=True, description="Rank within the family; higher is more premium."),
            Column("billing_period", "VARCHAR", required=True, enum=("month", "year"),
                   description="month or year: the period `price` covers."),
            Column("price", MONEY, required=True, non_negative=True,
                   description="Price per billing period (per seat when per_seat)."),
            Column("per_seat", "BOOLEAN", required=True, description="Whether price is per seat."),
            Column("currency", "VARCHAR", required=True, check="currency", description="Currency of price."),
            Column("seat_limit", "INTEGER", non_negative=True, description="Seats included; empty is unlimited."),
            Column("storage_limit_gb", "DOUBLE", non_negative=True,
                description="Storage included in GB; empty is unlimited."),
            Column("api_calls_limit", "BIGINT", non_negative=True,
                description="API calls per month; empty is unlimited."),
            Column("features", "VARCHAR", default="''", description="`;`-separated list of included features."),
        ),
    ),
    Table(
        "contacts",
        key=("contact_id",),
        versioned_by="updated_at",
        depends_on=("customers",),
        description="People at customer accounts. Several versions of a contact may arrive; "
        "the latest updated_at wins.",
        columns=(
            Column("contact_id", "VARCHAR", description="Stable identifier of the contact."),
            Column("customer_id", "VARCHAR", required=True, references=("customers", "customer_id"),
                   description="The customer the contact works for."),
            Column("email", "VARCHAR", required=True, check="email", description="E-mail address."),
            Column("first_name", "VARCHAR", description="First name, for greetings."),
            Column("is_primary", "BOOLEAN", default="false", description="The account's primary contact."),
            Column("email_opt_in", "BOOLEAN", default="false", description="Consent to marketing e-mail."),
            Column("unsubscribed_at", TIMESTAMP, description="When the contact unsubscribed, if they did."),
            Column("updated_at", TIMESTAMP, required=True, description="Version of this record; latest wins."),
        ),
    ),
    Table(
        "orders",
        key=("order_id",),
        versioned_by="updated_at",
        depends_on=("customers", "fx_rates"),
        range_checks=(("ordered_at", "delivered_at"),),
        description="One row per order header. Several versions may arrive; the latest updated_at wins.",
        columns=(
            Column("order_id", "VARCHAR", description="Stable identifier of the order."),
            Column("customer_id", "VARCHAR", required=True, references=("customers", "customer_id"),
                   description="The ordering customer."),
            Column("ordered_at", TIMESTAMP, required=True, description="When the order was placed (UTC)."),
            Column("status", "VARCHAR", required=True,
                   enum=("placed", "shipped", "delivered", "cancelled", "returned"),
                   description="placed, shipped, delivered, cancelled or returned."),
            Column("delivered_at", TIMESTAMP, description="When the order was delivered, if it was."),
            Column("currency", "VARCHAR", required=True, check="currency",
                description="Currency of the order's prices."),
            Column("updated_at", TIMESTAMP, required=True, description="Version of this record; latest wins."),
        ),
    ),
    Table(
        "order_items",
        key=("order_id", "line_number"),
        depends_on=("orders", "products"),
        description="One row per order line.",
        columns=(
            Column("order_id", "VARCHAR", references=("orders", "order_id"), description="The order."),
            Column("line_number", "INTEGER", description="Line position within the order."),
            Column("product_id", "VARCHAR", required=True, references=("products", "product_id"),
                   description="The product on the line."),
            Column("quantity", "INTEGER", required=True, non_negative=True, description="Units ordered."),
            Column("unit_price", MONEY, required=True, non_negative=True,
                description="Price per unit in the order's currency."),
            Column("discount", MONEY, default="0", non_negative=True,
                description="Discount on the line, in the order's currency."),
        ),
    ),
    Table(
        "subscription_items",
        key=("item_id",),
        depends_on=("customers", "plans", "products", "fx_rates"),
        range_checks=(("valid_from", "valid_to"),),
        description="History of subscription lines: every change closes one row and opens another.",
        columns=(
            Column("item_id", "VARCHAR", description="Stable identifier of this version of the line."),
            Column("subscription_id", "VARCHAR", required=True, description="The subscription the line belongs to."),
            Column("customer_id", "VARCHAR", required=True, references=("customers", "customer_id"),
                   description="The subscribing customer."),
            Column("kind", "VARCHAR", required=True, enum=("plan", "addon"), description="plan or addon."),
            Column("plan_id", "VARCHAR", required_when="kind = 'plan'", references=("plans", "plan_id"),
                   references_when="kind = 'plan'", description="The plan, when kind is plan."),
            Column("product_id", "VARCHAR", required_when="kind = 'addon'", references=("products", "product_id"),
                   references_when="kind = 'addon'", description="The add-on product, when kind is addon."),
            Column("quantity", "INTEGER", required=True, non_negative=True, description="Seats or units."),
            Column("unit_price", MONEY, required=True, non_negative=True,
                description="Price per unit per billing period."),
            Column("billing_period", "VARCHAR", required=True, enum=("month", "year"), description="month or year."),
            Column("currency", "VARCHAR", required=True, check="currency", description="Currency of unit_price."),
            Column("status", "VARCHAR", required=True, enum=("trialing", "active", "paused", "canceled"),
                   description="trialing, active, paused or canceled."),
            Column("valid_from", TIMESTAMP, required=True, description="When this version starts (inclusive, UTC)."),
            Column("valid_to", TIMESTAMP, description="When this version ends (exclusive, UTC); empty while current."),
        ),
    ),
    Table(
        "usage_events",
        key=("event_id",),
        depends_on=("customers",),
        description="Product usage measurements and blocked-feature events.",
        columns=(
            Column("event_id", "VARCHAR", description="Stable identifier of the event."),
            Column("customer_id", "VARCHAR", required=True, references=("customers", "customer_id"),
                   description="The customer whose usage this is."),
            Column("occurred_at", TIMESTAMP, required=True, description="When it happened (UTC)."),
            Column("metric", "VARCHAR", required=True,
                   enum=("active_seats", "storage_gb", "api_calls", "feature_blocked"),
                   description="active_seats, storage_gb, api_calls or feature_blocked."),
            Column("value", "DOUBLE", required=True, non_negative=True,
                   description="Seats in use, GB stored, API calls in the period, or 1 per blocked attempt."),
            Column("feature", "VARCHAR", required_when="metric = 'feature_blocked'",
                   description="The gated feature, for feature_blocked."),
        ),
    ),
)

TABLES_BY_NAME: dict[str, Table] = {table.name: table for table in TABLES}
TABLE_NAMES: tuple[str, ...] = tuple(table.name for table in TABLES)  # in load order

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
CURRENCY_CODE_PATTERN = r"^[A-Z]{3}$"
ALWAYS_KNOWN_CURRENCIES = ("USD",)

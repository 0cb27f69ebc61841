"""The contract's types and row rules as DuckDB SQL: every column cast to its type, the first rule a row breaks.

Python only builds SQL here, from the declarations in `contract.py`; nothing reads rows. `row_rules` lists, in the
order they are checked, a condition per rule; the first true condition is the row's rule (`_rule_index`).
"""

from __future__ import annotations

import re

from orchestration.lib.contract import (
    ALWAYS_KNOWN_CURRENCIES,
    COUNTRY_PATTERN,
    CURRENCY_CODE_PATTERN,
    EMAIL_PATTERN,
    Column,
    Rule,
    Table,
)
from orchestration.lib.loader.sources import Source
from orchestration.lib.loader.sql import DUCKDB, Dialect, literal, quote

INTEGER_TYPES = {"INTEGER", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT"}
FLOAT_TYPES = {"DOUBLE", "FLOAT"}
TEMPORAL_TYPES = {"TIMESTAMP", "DATE"}
CODE_CHECKS = {"currency", "currency_code", "country"}  # ISO codes, written in capitals
ASCII_WORD = r"^[A-Za-z_]+$"
EXPONENT_FORM = r"^[^eE]*[eE][^eE]*$"


def blank_to_null(name: str, source_type: str | None) -> str:
    if source_type is None:
        return "null"
    if source_type == "VARCHAR":
        # trim() copies every string; only values with a space at either end need it (the same result, a few
        # times cheaper on a column of 100M identifiers).
        value = f"src.{quote(name)}"
        return f"(case when {value} like ' %' or {value} like '% ' then nullif(trim({value}), '') " \
               f"else nullif({value}, '') end)"
    return f"src.{quote(name)}"


def normalised(column: Column, value: str, dialect: Dialect = DUCKDB) -> str:
    """Text as the contract spells it: an allowed value in lower case (`Delivered` is `delivered`), an ISO code in
    capitals (`usd` is `USD`). Only ASCII letters are folded, and nothing else of a value is changed."""
    if column.enum:
        allowed = ", ".join(literal(option) for option in column.enum)
        return f"(case when {value} in ({allowed}) then {value} " \
               f"when {dialect.full_match(value, ASCII_WORD)} then lower({value}) else {value} end)"
    if column.check in CODE_CHECKS:
        return f"(case when {dialect.full_match(value, ASCII_WORD)} then upper({value}) else {value} end)"
    return value


def cast_expression(column: Column, source_type: str | None, dialect: Dialect = DUCKDB) -> str:
    """The column's value in its contract type, NULL when empty or unreadable (the rules catch that)."""
    value = blank_to_null(column.name, source_type)
    if source_type is None:
        return value
    if column.type == "VARCHAR":
        text = value if source_type == "VARCHAR" else f"try_cast({value} as {dialect.text})"
        return normalised(column, text, dialect)
    if source_type == column.type:
        return value
    if column.type == "TIMESTAMP":
        return dialect.parse_timestamp(value) if source_type == "VARCHAR" else f"try_cast({value} as timestamp)"
    if column.type == "BOOLEAN" and source_type == "VARCHAR":
        return f"try_cast(lower({value}) as boolean)"
    if source_type != "VARCHAR":  # a typed Parquet column of another type: the engines' casts agree
        return f"try_cast({value} as {dialect.type_name(column.type)})"
    return dialect.try_cast(value, column.type)


def decimal_scale(contract_type: str) -> int:
    """The scale of a DECIMAL(p,s) type name; 0 for any other type."""
    found = re.fullmatch(r"DECIMAL\(\d+,\s*(\d+)\)", contract_type.upper())
    return int(found.group(1)) if found else 0


def excess_decimals(value: str, source_type: str, scale: int, dialect: Dialect = DUCKDB) -> str:
    """A condition: the number has digits beyond `scale` decimals that are not zeros, so that the column's type
    would round it (`1.23456` in a 4-decimal column, `2.5` or `1.0000000001` in an integer one; `1.50000` and `3.0`
    are exact). Decided on the text itself, exponent forms through a 20-decimal value; typed Parquet numbers by
    rounding them."""
    if source_type == "VARCHAR":
        plain = rf"^[+-]?\d*\.\d{{{scale}}}\d*[1-9]\d*$"
        exact = f"try_cast({value} as decimal(38, 20))"
        exponent = (f"{dialect.full_match(value, EXPONENT_FORM)} and ({exact} <> round({exact}, {scale}) "
                    f"or ({exact} = 0 and try_cast({value} as double) <> 0))")
        return f"coalesce({dialect.full_match(value, plain)} or ({exponent}), false)"
    if source_type in FLOAT_TYPES or (source_type.upper().startswith("DECIMAL")
                                      and decimal_scale(source_type) > scale):
        return f"coalesce({value} <> round({value}, {scale}), false)"
    return "false"


def typed_expression(column: Column, source_type: str | None, dialect: Dialect = DUCKDB) -> str:
    """The value as loaded: the cast value, or the column's default when it is empty."""
    typed = cast_expression(column, source_type, dialect)
    return f"coalesce({typed}, {column.default})" if column.default is not None else typed


def _type_rule(column: Column) -> Rule:
    if column.type in TEMPORAL_TYPES:
        return Rule.UNPARSEABLE_TIMESTAMP
    if column.type == "BOOLEAN":
        return Rule.INVALID_BOOLEAN
    return Rule.INVALID_NUMBER


def _over_typed(predicate: str, typed: dict[str, str]) -> str:
    """A contract predicate such as `kind = 'plan'` with each column name replaced by its typed value."""
    return re.sub(r"\b[a-z_]+\b", lambda match: f"({typed[match.group()]})" if match.group() in typed
                  else match.group(), predicate)


def row_rules(table: Table, source_types: dict[str, str | None],
              dialect: Dialect = DUCKDB) -> list[tuple[str, Rule, str]]:
    """(condition, rule, column) in the order they are checked; the first true condition is the row's rule."""
    rules: list[tuple[str, Rule, str]] = []
    raw = {column.name: blank_to_null(column.name, source_types.get(column.name)) for column in table.columns}
    typed = {column.name: typed_expression(column, source_types.get(column.name), dialect)
             for column in table.columns}
    for name in table.key:
        rules.append((f"{raw[name]} is null", Rule.MISSING_KEY, name))
    for column in table.columns:
        name, value, as_type = column.name, raw[column.name], typed[column.name]
        source_type = source_types.get(name)
        if column.required and name not in table.key:
            rules.append((f"{value} is null", Rule.MISSING_VALUE, name))
        if column.required_when:
            condition = _over_typed(column.required_when, typed)
            rules.append((f"({condition}) and {value} is null", Rule.MISSING_VALUE, name))
        if source_type is not None and source_type != column.type and column.type != "VARCHAR":
            cast = cast_expression(column, source_type, dialect)
            rules.append((f"{value} is not null and {cast} is null", _type_rule(column), name))
            if column.type in INTEGER_TYPES:
                rules.append((excess_decimals(value, source_type, 0, dialect), Rule.INVALID_NUMBER, name))
            if column.type.startswith("DECIMAL"):
                rules.append((excess_decimals(value, source_type, decimal_scale(column.type), dialect),
                              Rule.TOO_MANY_DECIMALS, name))
        if column.type in FLOAT_TYPES and source_type in FLOAT_TYPES:
            rules.append((dialect.not_finite(value), Rule.INVALID_NUMBER, name))
        if column.enum:
            allowed = ", ".join(literal(option) for option in column.enum)
            rules.append((f"{as_type} not in ({allowed})", Rule.INVALID_ENUM, name))
        if column.check == "email":
            rules.append((f"not {dialect.full_match(as_type, EMAIL_PATTERN)}", Rule.MALFORMED_EMAIL, name))
        if column.check == "country":
            rules.append((f"not {dialect.full_match(as_type, COUNTRY_PATTERN)}", Rule.INVALID_COUNTRY, name))
        if column.check == "currency_code":
            rules.append((f"not {dialect.full_match(as_type, CURRENCY_CODE_PATTERN)}", Rule.UNKNOWN_CURRENCY, name))
        if column.check == "currency":
            rules.append((f"{as_type} is not null and known_currencies.currency is null", Rule.UNKNOWN_CURRENCY, name))
        if column.non_negative:
            rules.append((f"{as_type} < 0", Rule.NEGATIVE_VALUE, name))
    for earlier, later in table.range_checks:
        rules.append((f"{typed[later]} < {typed[earlier]}", Rule.INVALID_RANGE, later))
    for column in table.columns:
        if column.references:
            ref_column = column.references[1]
            alias = quote(f"ref_{column.name}")
            condition = f"{typed[column.name]} is not null and {alias}.{quote(ref_column)} is null"
            if column.references_when:
                condition = f"({_over_typed(column.references_when, typed)}) and {condition}"
            rules.append((condition, Rule.UNKNOWN_REFERENCE, column.name))
    return rules


def typed_columns(table: Table, source: Source, dialect: Dialect = DUCKDB) -> list[str]:
    """`<typed value> as "<column>"` for every contract column (then the extra columns, as they are)."""
    typed = [f"{typed_expression(column, source.type_of(column.name), dialect)} as {quote(column.name)}"
             for column in table.columns]
    return typed + [f"src.{quote(name)}" for name in source.extras]


def original_columns(table: Table, source: Source, dialect: Dialect = DUCKDB) -> list[str]:
    """Every contract column (and extra column) as the text the landing file holds, for quarantine."""
    return [f"cast(src.{quote(name)} as {dialect.text}) as {quote(name)}" if source.type_of(name) is not None
            else f"cast(null as {dialect.text}) as {quote(name)}" for name in (*table.column_names, *source.extras)]


def reference_joins(table: Table, source: Source, dialect: Dialect = DUCKDB) -> str:
    """The joins the reference and currency rules read: the parent's keys, and the currencies with fx rates."""
    joins = []
    if any(column.check == "currency" for column in table.columns):
        currency = typed_expression(table.column("currency"), source.type_of("currency"), dialect)
        known = " union ".join([f"select {literal(code)} as currency" for code in ALWAYS_KNOWN_CURRENCIES]
                               + ["select distinct currency from raw.fx_rates"])
        joins.append(f"left join ({known}) as known_currencies on known_currencies.currency = {currency}")
    for column in table.columns:
        if column.references:
            ref_table, ref_column = column.references
            alias = quote(f"ref_{column.name}")
            joins.append(
                f"left join (select {quote(ref_column)} from raw.{quote(ref_table)}) as {alias} "
                f"on {alias}.{quote(ref_column)} = {typed_expression(column, source.type_of(column.name), dialect)}"
            )
    return " ".join(joins)


def rule_index_sql(rules: list[tuple[str, Rule, str]]) -> str:
    """The 1-based index of the first rule a row breaks, NULL when it breaks none."""
    if not rules:
        return "cast(null as integer)"
    return "case " + " ".join(f"when {condition} then {index}"
                              for index, (condition, _, _) in enumerate(rules, start=1)) + " end"


def rejects_sql(table: Table, source: Source, rules: list[tuple[str, Rule, str]], dialect: Dialect = DUCKDB) -> str:
    """The rows that break a row rule: their position, the rule's index and their original text."""
    return f"""
        select * from (
            select src._source_file, src._source_row, {rule_index_sql(rules)} as _rule_index,
                {', '.join(original_columns(table, source, dialect))}
            from ({source.sql}) as src
            {reference_joins(table, source, dialect)}
        ) where _rule_index is not null
    """

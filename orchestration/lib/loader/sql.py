"""SQL text helpers shared by the loader's modules, and the one error a user can cause."""

from __future__ import annotations

import re


class LandingError(Exception):
    """A problem with the landing data that the user can fix; the message is one sentence."""


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def duckdb_reason(error: Exception) -> str:
    """DuckDB's first line, without its error class (`Invalid Input Error: `) and final stop, to end a sentence."""
    line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    line = re.sub(r"^[A-Z][A-Za-z ]* Error: ", "", line)
    return line.rstrip(". ")


def column_list(names: list[str] | tuple[str, ...], prefix: str = "") -> str:
    return ", ".join(f"{prefix}{quote(name)}" for name in names)


# --- the two dialects ------------------------------------------------------------------------------------------------
# The contract's rules are built once (rules.py, keys.py, changes.py) and rendered through a Dialect: DuckDB's SQL
# as it always was, or Spark SQL for the same rules. Spark's loader session reads double-quoted identifiers and
# backslashes as DuckDB does (orchestration/lib/spark/loader.py sets ANSI mode, double-quoted identifiers and
# escaped string literals), so only the constructs below differ.

ISO_TIMESTAMP = r"^\d{4}-\d{1,2}-\d{1,2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?( ?(Z|UTC|[+-]\d{2}(:?\d{2})?))?$"
PLAIN_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
NUMBER_TYPES = {"INTEGER", "BIGINT", "SMALLINT", "TINYINT", "DOUBLE", "FLOAT"}
SPARK_TYPES = {"VARCHAR": "string", "INTEGER": "int", "BIGINT": "bigint", "SMALLINT": "smallint",
               "TINYINT": "tinyint", "DOUBLE": "double", "BOOLEAN": "boolean", "DATE": "date", "TIMESTAMP": "timestamp"}


class Dialect:
    """DuckDB's rendering of the constructs the loader's SQL uses; `SparkDialect` overrides those that differ."""

    name = "duckdb"
    text = "varchar"
    anti_join = "anti join"
    semi_join = "semi join"

    def type_name(self, contract_type: str) -> str:
        return contract_type

    def try_cast(self, value: str, contract_type: str) -> str:
        """Text in a contract type, NULL when it is not one. Numbers are read only in plain decimal or exponent form
        and dates only in ISO 8601 form, as on Spark: DuckDB's casts also read '0x10' as 16, '1_000' as 1000, 'NaN'
        and 'inf' as numbers and 'epoch' or 'infinity' as dates, none of which an extract means."""
        cast = f"try_cast({value} as {self.type_name(contract_type)})"
        if contract_type in NUMBER_TYPES or contract_type.startswith("DECIMAL"):
            return f"case when {self.full_match(value, PLAIN_NUMBER)} then {cast} end"
        if contract_type in ("DATE", "TIMESTAMP"):
            return f"case when {self.full_match(value, ISO_TIMESTAMP)} then {cast} end"
        return cast

    def parse_timestamp(self, text: str) -> str:
        """ISO 8601 text (an offset converted to UTC) as a naive UTC timestamp, NULL when it is not one."""
        return (f"case when {self.full_match(text, ISO_TIMESTAMP)} "
                f"then try_cast(try_cast({text} as timestamptz) as timestamp) end")

    def not_finite(self, value: str) -> str:
        """A floating-point value that is NaN or infinite."""
        return f"not isfinite({value})"

    def full_match(self, value: str, pattern: str) -> str:
        return f"regexp_full_match({value}, {literal(pattern)})"

    def hash(self, expressions: list[str]) -> str:
        return f"hash({', '.join(expressions)})"

    def hash_sum(self, expressions: list[str]) -> str:
        """A sum of row hashes that cannot overflow (DuckDB sums its 64-bit hashes into a HUGEINT)."""
        return f"sum({self.hash(expressions)})"

    def struct(self, fields: list[tuple[str, str]]) -> str:
        return "struct_pack(" + ", ".join(f"{quote(name)} := {value}" for name, value in fields) + ")"

    def pick(self, items: list[str], index: str) -> str:
        """The `index`-th (1-based) of `items`."""
        return "[" + ", ".join(items) + f"][{index}]"

    def union_by_name(self, left: str, right: str) -> str:
        return f"({left}) union all by name ({right})"

    def month_text(self, day: str) -> str:
        return f"strftime({day}, '%Y-%m')"


class SparkDialect(Dialect):
    name = "spark"
    text = "string"
    anti_join = "left anti join"
    semi_join = "left semi join"

    def type_name(self, contract_type: str) -> str:
        return SPARK_TYPES.get(contract_type, contract_type.lower())

    def try_cast(self, value: str, contract_type: str) -> str:
        # Spark's casts accept more than DuckDB's ('1d' as a double, '1e3' not as an integer): numbers are read
        # only in plain decimal or exponent form, and whole numbers through an exact decimal, as DuckDB reads them.
        spark_type = self.type_name(contract_type)
        if spark_type in ("int", "bigint", "smallint", "tinyint"):
            exact = f"try_cast({value} as decimal(38, 10))"
            return f"case when {value} rlike {literal(PLAIN_NUMBER)} then try_cast({exact} as {spark_type}) end"
        if spark_type == "double" or spark_type.startswith("decimal"):
            return f"case when {value} rlike {literal(PLAIN_NUMBER)} then try_cast({value} as {spark_type}) end"
        if spark_type in ("timestamp", "date"):
            return f"case when {value} rlike {literal(ISO_TIMESTAMP)} then try_cast({value} as {spark_type}) end"
        return f"try_cast({value} as {spark_type})"

    def parse_timestamp(self, text: str) -> str:
        # Spark also reads 'yesterday', '2026' or '12:00' as instants: only ISO 8601 shapes are cast (the session
        # time zone is UTC, so an offset is converted to UTC).
        return f"case when {text} rlike {literal(ISO_TIMESTAMP)} then try_cast({text} as timestamp) end"

    def not_finite(self, value: str) -> str:
        return f"(isnan({value}) or abs({value}) = cast('Infinity' as double))"

    def full_match(self, value: str, pattern: str) -> str:
        return f"({value} rlike {literal(pattern)})"  # the contract's patterns are anchored (^...$)

    def hash(self, expressions: list[str]) -> str:
        # xxhash64 skips NULL arguments, so (a, NULL) and (NULL, a) would collide: each value carries its NULL flag.
        return "xxhash64(" + ", ".join(f"{expression}, isnull({expression})" for expression in expressions) + ")"

    def hash_sum(self, expressions: list[str]) -> str:
        return f"sum(cast({self.hash(expressions)} as decimal(38, 0)))"

    def struct(self, fields: list[tuple[str, str]]) -> str:
        return "named_struct(" + ", ".join(f"{literal(name)}, {value}" for name, value in fields) + ")"

    def pick(self, items: list[str], index: str) -> str:
        return f"element_at(array({', '.join(items)}), {index})"

    def union_by_name(self, left: str, right: str) -> str:
        raise NotImplementedError("Spark SQL has no union by name: list the columns of both sides in one order")

    def month_text(self, day: str) -> str:
        return f"date_format({day}, 'yyyy-MM')"


DUCKDB = Dialect()
SPARK = SparkDialect()

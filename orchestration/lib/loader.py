"""Load a landing directory into the warehouse's `raw` schema, enforcing the data contract.

All the work happens inside DuckDB with its own CSV and Parquet readers: Python only builds the SQL from
the declarations in `contract.py`. For every table:

1. read every landing file of the table (CSV or Parquet, one file or a folder of parts) into a staging
   table, computing the first row-level rule each row breaks (types, enums, patterns, ranges, references);
2. among the rows that pass, settle repeated keys: in versioned tables (`orders`, `contacts`) the latest
   `updated_at` wins and older versions are superseded (kept in `superseded.<table>`), a second version with
   the same `updated_at` but different content is a `conflicting_version`; elsewhere the first row in file
   order wins and each later row with the same key is a `repeated_key`;
3. replace `raw.<table>` (typed, extra columns kept), `quarantine.<table>` (original values as text plus
   `_rule`, `_column`, `_source_file`, `_source_row`) and record the four counts in `audit.load_counts`.

Loading the same files twice gives the same tables. Errors a user can cause end in `LandingError`, whose
message is one sentence naming the file, table or column.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.lib.contract import (
    ALWAYS_KNOWN_CURRENCIES,
    COUNTRY_PATTERN,
    CURRENCY_CODE_PATTERN,
    EMAIL_PATTERN,
    Column,
    Rule,
    Table,
)

READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
INTEGER_TYPES = {"INTEGER", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT"}
TEMPORAL_TYPES = {"TIMESTAMP", "DATE"}


class LandingError(Exception):
    """A problem with the landing data that the user can fix; the message is one sentence."""


@dataclass
class LoadResult:
    table: str
    source_files: list[str]
    rows_read: int
    rows_loaded: int
    rows_superseded: int
    rows_quarantined: int
    quarantined_by_rule: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_superseded + self.rows_quarantined


def duckdb_reason(error: Exception) -> str:
    """DuckDB's first line, without its error class (`Invalid Input Error: `) and final stop, to end a sentence."""
    line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    line = re.sub(r"^[A-Z][A-Za-z ]* Error: ", "", line)
    return line.rstrip(". ")


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def find_table_files(landing: Path, table: str) -> list[Path]:
    """The landing files of one table: `<table>.csv`, `<table>.parquet` or the parts in `<table>/`."""
    candidates = [landing / f"{table}{suffix}" for suffix in READERS]
    files = [path for path in candidates if path.is_file()]
    folder = landing / table
    if folder.is_dir():
        files += sorted(path for path in folder.iterdir() if path.is_file() and path.suffix.lower() in READERS)
    if not files:
        raise LandingError(
            f"The landing directory {landing} has no {table} table: expected {table}.csv, {table}.parquet "
            f"or a folder {table}/ of CSV or Parquet parts."
        )
    return files


# --- reading -----------------------------------------------------------------------------------------


def _reader_sql(reader: str, files: list[Path]) -> str:
    if reader == "csv":
        # Every value as text: the contract's types are applied (and checked) afterwards, so a bad
        # value becomes a quarantined row instead of a failed read. One scan per file, so that
        # `_source_row` is the row's position in its own file (1 = the first row after the header).
        scans = [
            f"select *, row_number() over () as _source_row from read_csv({literal(str(path))}, header = true, "
            "all_varchar = true, filename = '_source_file')"
            for path in files
        ]
        return " union all by name ".join(f"({scan})" for scan in scans)
    file_list = "[" + ", ".join(literal(str(path)) for path in files) + "]"
    return (
        f"select * exclude (file_row_number), file_row_number + 1 as _source_row "
        f"from read_parquet({file_list}, union_by_name = true, filename = '_source_file', file_row_number = true)"
    )


def _describe(con: duckdb.DuckDBPyConnection, sql: str, files: list[Path], table: str) -> dict[str, str]:
    try:
        rows = con.execute(f"describe {sql}").fetchall()
    except duckdb.Error as error:
        names = ", ".join(str(path) for path in files)
        raise LandingError(f"Could not read {names} for table {table}: {duckdb_reason(error)}.") from None
    return {name: type_ for name, type_, *_ in rows}


def _source_relation(
    con: duckdb.DuckDBPyConnection, table: Table, files: list[Path]
) -> tuple[str, dict[str, str], list[str]]:
    """SQL for all rows of the table's files, the source type of each column, and the extra columns."""
    groups: dict[str, list[Path]] = {}
    for path in files:
        groups.setdefault(READERS[path.suffix.lower()], []).append(path)
    described = {reader: _describe(con, _reader_sql(reader, paths), paths, table.name)
                 for reader, paths in groups.items()}
    for reader, columns in described.items():
        missing = [column.name for column in table.columns if column.name not in columns and column.default is None]
        if missing:
            names = ", ".join(str(path) for path in groups[reader])
            raise LandingError(
                f"{names} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                f"that the contract requires for table {table.name}."
            )
    bookkeeping = {"_source_file", "_source_row"}
    extras: list[str] = []
    for columns in described.values():
        extras += [name for name in columns if name not in table.column_names and name not in bookkeeping
                   and name not in extras]
    if len(described) == 1:
        (reader, columns), = described.items()
        return _reader_sql(reader, groups[reader]), columns, extras
    # Parquet and CSV parts together: bring every column to text so the parts union cleanly.
    selects = []
    for reader, columns in described.items():
        wanted = list(table.column_names) + extras
        items = [f"cast({quote(name)} as varchar) as {quote(name)}" if name in columns
                 else f"cast(null as varchar) as {quote(name)}" for name in wanted]
        selects.append(
            f"select {', '.join(items)}, _source_file, _source_row from ({_reader_sql(reader, groups[reader])})"
        )
    union = " union all by name ".join(f"({select})" for select in selects)
    return union, {name: "VARCHAR" for name in list(table.column_names) + extras}, extras


# --- typing and row rules ------------------------------------------------------------------------------


def _blank_to_null(name: str, source_type: str | None) -> str:
    if source_type is None:
        return "null"
    if source_type == "VARCHAR":
        return f"nullif(trim(src.{quote(name)}), '')"
    return f"src.{quote(name)}"


def cast_expression(column: Column, source_type: str | None) -> str:
    """The column's value in its contract type, NULL when empty or unreadable (the rules catch that)."""
    value = _blank_to_null(column.name, source_type)
    if source_type is None or source_type == column.type:
        return value
    if column.type == "TIMESTAMP":
        return f"try_cast(try_cast({value} as timestamptz) as timestamp)" if source_type == "VARCHAR" \
            else f"try_cast({value} as timestamp)"
    if column.type == "BOOLEAN" and source_type == "VARCHAR":
        return f"try_cast(lower({value}) as boolean)"
    return f"try_cast({value} as {column.type})"


def typed_expression(column: Column, source_type: str | None) -> str:
    """The value as loaded: the cast value, or the column's default when it is empty."""
    typed = cast_expression(column, source_type)
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


def row_rules(table: Table, source_types: dict[str, str | None]) -> list[tuple[str, Rule, str]]:
    """(condition, rule, column) in the order they are checked; the first true condition is the row's rule."""
    rules: list[tuple[str, Rule, str]] = []
    raw = {column.name: _blank_to_null(column.name, source_types.get(column.name)) for column in table.columns}
    typed = {column.name: typed_expression(column, source_types.get(column.name)) for column in table.columns}
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
            cast = cast_expression(column, source_type)
            rules.append((f"{value} is not null and {cast} is null", _type_rule(column), name))
            if column.type in INTEGER_TYPES:
                exact = f"try_cast({value} as decimal(38, 10))"
                rules.append((f"{exact} is not null and {exact} <> trunc({exact})", Rule.INVALID_NUMBER, name))
        if column.enum:
            allowed = ", ".join(literal(option) for option in column.enum)
            rules.append((f"{as_type} not in ({allowed})", Rule.INVALID_ENUM, name))
        if column.check == "email":
            rules.append((f"not regexp_full_match({as_type}, {literal(EMAIL_PATTERN)})", Rule.MALFORMED_EMAIL, name))
        if column.check == "country":
            rules.append((f"not regexp_full_match({as_type}, {literal(COUNTRY_PATTERN)})", Rule.INVALID_COUNTRY, name))
        if column.check == "currency_code":
            rules.append((f"not regexp_full_match({as_type}, {literal(CURRENCY_CODE_PATTERN)})",
                          Rule.UNKNOWN_CURRENCY, name))
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


def _incoming_sql(table: Table, source_sql: str, source_types: dict[str, str], extras: list[str],
                  rules: list[tuple[str, Rule, str]]) -> str:
    """Every landing row, typed, with the index of the first rule it breaks and (then only) its original text."""
    types: dict[str, str | None] = {column.name: source_types.get(column.name) for column in table.columns}
    rule_index = "case " + " ".join(f"when {condition} then {index}"
                                    for index, (condition, _, _) in enumerate(rules, start=1)) + " end"
    typed_columns = [f"{typed_expression(column, types[column.name])} as {quote(column.name)}"
                     for column in table.columns]
    original_columns = [
        f"cast(src.{quote(column.name)} as varchar) as {quote('_o_' + column.name)}"
        if types[column.name] is not None else f"cast(null as varchar) as {quote('_o_' + column.name)}"
        for column in table.columns
    ]
    joins = []
    if any(column.check == "currency" for column in table.columns):
        currency = typed_expression(table.column("currency"), types["currency"])
        known = " union ".join([f"select {literal(code)} as currency" for code in ALWAYS_KNOWN_CURRENCIES]
                               + ["select distinct currency from raw.fx_rates"])
        joins.append(f"left join ({known}) as known_currencies on known_currencies.currency = {currency}")
    for column in table.columns:
        if column.references:
            ref_table, ref_column = column.references
            alias = quote(f"ref_{column.name}")
            joins.append(
                f"left join (select {quote(ref_column)} from raw.{quote(ref_table)}) as {alias} "
                f"on {alias}.{quote(ref_column)} = {typed_expression(column, types[column.name])}"
            )
    extra_columns = [f"src.{quote(name)}" for name in extras]
    original_struct = "struct_pack(" + ", ".join(
        f"{quote(column.name)} := {quote('_o_' + column.name)}" for column in table.columns) + ")"
    outer_columns = [quote(name) for name in (*table.column_names, *extras)]
    return f"""
        select {', '.join(outer_columns)}, _source_file, _source_row, _rule_index,
            case when _rule_index is not null then {original_struct} end as _orig
        from (
            select
                {', '.join(typed_columns + original_columns + extra_columns)},
                src._source_file, src._source_row,
                {rule_index} as _rule_index
            from ({source_sql}) as src
            {' '.join(joins)}
        )
    """


# --- repeated keys ------------------------------------------------------------------------------------


def _fate_sql(table: Table, incoming: str) -> str:
    """For rows whose key repeats among the rows that passed the row rules: loaded, superseded or a rule."""
    key = ", ".join(quote(name) for name in table.key)
    content = "hash(" + ", ".join(quote(column.name) for column in table.columns) + ")"
    file_order = "_source_file, _source_row"
    repeated = f"""
        select incoming.* from {incoming} as incoming
        semi join (
            select {key} from {incoming} where _rule_index is null group by {key} having count(*) > 1
        ) as repeated using ({key})
        where incoming._rule_index is null
    """
    if table.versioned_by is None:
        return f"""
            select _source_file, _source_row,
                case when row_number() over (partition by {key} order by {file_order}) = 1
                    then 'loaded' else '{Rule.REPEATED_KEY.value}' end as _fate
            from ({repeated})
        """
    version = quote(table.versioned_by)
    return f"""
        with ranked as (
            select _source_file, _source_row, {version} as version,
                max({version}) over (partition by {key}) as latest_version,
                {content} as content,
                first_value({content}) over (
                    partition by {key}, {version} order by {file_order}
                ) as first_content,
                row_number() over (partition by {key}, {version} order by {file_order}) as position
            from ({repeated})
        )
        select _source_file, _source_row,
            case
                when version < latest_version then 'superseded'
                when position = 1 then 'loaded'
                when content = first_content then 'superseded'
                else '{Rule.CONFLICTING_VERSION.value}'
            end as _fate
        from ranked
    """


# --- the load -----------------------------------------------------------------------------------------


def prepare_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    for schema in ("raw", "quarantine", "superseded", "audit"):
        con.execute(f"create schema if not exists {schema}")
    con.execute("""
        create table if not exists audit.load_counts (
            table_name varchar primary key, source_files varchar[], rows_read bigint, rows_loaded bigint,
            rows_superseded bigint, rows_quarantined bigint, loaded_at timestamp, seconds double
        )
    """)


def load_table(con: duckdb.DuckDBPyConnection, landing: Path, table: Table) -> LoadResult:
    """Replace raw/quarantine/superseded.<table> from the landing files, in one transaction.

    The landing rows are scanned and written once, straight into `raw.<table>` with their rule index; the rows
    that broke a rule or lost to another row with the same key are then copied out and deleted, and the
    bookkeeping columns dropped (both cheap in DuckDB), so a 100M-row table is not written twice.
    """
    started = time.perf_counter()
    prepare_warehouse(con)
    files = find_table_files(landing, table.name)
    source_sql, source_types, extras = _source_relation(con, table, files)
    rules = row_rules(table, {column.name: source_types.get(column.name) for column in table.columns})
    target = f"raw.{quote(table.name)}"
    rule_names = "[" + ", ".join(literal(rule.value) for _, rule, _ in rules) + "]"
    rule_columns = "[" + ", ".join(literal(column) for _, _, column in rules) + "]"
    con.execute("begin transaction")
    try:
        try:
            con.execute(f"create or replace table {target} as "
                        f"{_incoming_sql(table, source_sql, source_types, extras, rules)}")
        except duckdb.Error as error:
            raise LandingError(f"Could not read the {table.name} files in {landing}: {duckdb_reason(error)}.") from None
        con.execute(f"create or replace temp table _fate as {_fate_sql(table, target)}")
        originals = [f"coalesce(_orig.{quote(column.name)}, cast({quote(column.name)} as varchar)) "
                     f"as {quote(column.name)}" for column in table.columns]
        extra_text = [f"cast({quote(name)} as varchar) as {quote(name)}" for name in extras]
        con.execute(f"""
            create or replace table quarantine.{quote(table.name)} as
            select {', '.join(originals + extra_text)},
                coalesce({rule_names}[_rule_index], fate._fate) as _rule,
                coalesce({rule_columns}[_rule_index], {literal(', '.join(table.key))}) as _column,
                _source_file, _source_row
            from {target} left join _fate as fate using (_source_file, _source_row)
            where _rule_index is not null or fate._fate not in ('loaded', 'superseded')
        """)
        columns = ", ".join(quote(name) for name in (*table.column_names, *extras))
        if table.versioned_by:
            con.execute(f"""
                create or replace table superseded.{quote(table.name)} as
                select {columns}, _source_file, _source_row
                from {target}
                semi join (select * from _fate where _fate = 'superseded') using (_source_file, _source_row)
            """)
        read = con.execute(f"select count(*) from {target}").fetchone()[0]
        con.execute(f"""
            delete from {target} where _rule_index is not null or (_source_file, _source_row) in (
                select (_source_file, _source_row) from _fate where _fate <> 'loaded')
        """)
        for bookkeeping in ("_orig", "_rule_index", "_source_row", "_source_file"):
            con.execute(f"alter table {target} drop column {bookkeeping}")
        counts = dict(con.execute(f"select _rule, count(*) from quarantine.{quote(table.name)} group by all")
                      .fetchall())
        superseded = con.execute("select count(*) from _fate where _fate = 'superseded'").fetchone()[0]
        loaded = con.execute(f"select count(*) from {target}").fetchone()[0]
        result = LoadResult(
            table=table.name,
            source_files=[str(path) for path in files],
            rows_read=read,
            rows_loaded=loaded,
            rows_superseded=superseded,
            rows_quarantined=sum(counts.values()),
            quarantined_by_rule=dict(sorted(counts.items())),
        )
        con.execute("drop table _fate")
        result.seconds = time.perf_counter() - started
        con.execute(
            "insert or replace into audit.load_counts values (?, ?, ?, ?, ?, ?, current_timestamp::timestamp, ?)",
            [table.name, result.source_files, read, loaded, superseded, result.rows_quarantined, result.seconds],
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return result

"""Repeated keys among the rows that passed the row rules, settled without sorting the whole table.

A first pass groups the rows by the hash of their key and keeps the hashes seen more than once (together with
the rows already in `raw.<table>`, on an incremental load): these candidates are few, so the rows behind them,
read again and compared exactly, are few too. Among the rows of one key:

- tables without versions: the first row in file order (path, then row; rows loaded by an earlier load come
  first) is loaded, each later one is a `repeated_key`;
- `orders` and `contacts`: the latest `updated_at` wins; older versions are superseded, an exact copy of the
  loaded version is superseded, the same `updated_at` with other content is a `conflicting_version`.
"""

from __future__ import annotations

from orchestration.lib.contract import Rule, Table
from orchestration.lib.loader.rules import typed_expression
from orchestration.lib.loader.sources import Source
from orchestration.lib.loader.sql import DUCKDB, Dialect, column_list, quote

CANDIDATES = "_key_candidates"
KEYED = "_keyed_rows"
FATE = "_key_fate"
FILE_ORDER = "_existing desc, _source_file, _source_row"


def key_hash(table: Table, source: Source, dialect: Dialect = DUCKDB) -> str:
    return dialect.hash([typed_expression(table.column(name), source.type_of(name), dialect) for name in table.key])


def existing_key_hash(table: Table, dialect: Dialect = DUCKDB) -> str:
    return dialect.hash([f"existing.{quote(name)}" for name in table.key])


def passing_rows(source: Source, rejects: str | None, dialect: Dialect = DUCKDB) -> str:
    """The source rows that broke no row rule (an anti join only when some did)."""
    anti = f"{dialect.anti_join} {rejects} as rejects using (_source_file, _source_row)" if rejects else ""
    return f"select src.* from ({source.sql}) as src {anti}"


def candidates_sql(table: Table, source: Source, rejects: str | None, existing: bool,
                   dialect: Dialect = DUCKDB) -> str:
    """The key hashes held by more than one row (among the new rows and, incrementally, the loaded ones)."""
    hashed = f"select {key_hash(table, source, dialect)} as key_hash from " \
             f"({passing_rows(source, rejects, dialect)}) as src"
    if existing:
        hashed += f" union all select {existing_key_hash(table, dialect)} from raw.{quote(table.name)} as existing"
    return f"select key_hash from ({hashed}) group by key_hash having count(*) > 1"


def keyed_rows_sql(table: Table, source: Source, rejects: str | None, existing: bool,
                   dialect: Dialect = DUCKDB) -> str:
    """The rows behind the candidate hashes: the new ones typed, with their text; incrementally the loaded ones."""
    typed = [f"{typed_expression(column, source.type_of(column.name), dialect)} as {quote(column.name)}"
             for column in table.columns]
    texts = dialect.struct([(name, f"cast(src.{quote(name)} as {dialect.text})" if source.type_of(name) is not None
                             else f"cast(null as {dialect.text})") for name in (*table.column_names, *source.extras)])
    extras = [f"src.{quote(name)}" for name in source.extras]
    new_rows = f"""
        select {', '.join(typed + extras)}, src._source_file, src._source_row, false as _existing,
            {texts} as _orig
        from ({passing_rows(source, rejects, dialect)}) as src
        {dialect.semi_join} {CANDIDATES} as candidates on candidates.key_hash = {key_hash(table, source, dialect)}
    """
    if not existing:
        return new_rows
    position = ("existing._source_file, existing._source_row" if table.versioned_by
                else f"cast(null as {dialect.text}) as _source_file, cast(null as bigint) as _source_row")
    # Spark has no union by name: the loaded rows list the same columns in the same order, with no text (_orig).
    orig = "" if dialect.name == "duckdb" else ", null as _orig"
    loaded = f"""
        select {column_list((*table.column_names, *source.extras), 'existing.')}, {position}, true as _existing{orig}
        from raw.{quote(table.name)} as existing
        {dialect.semi_join} {CANDIDATES} as candidates on candidates.key_hash = {existing_key_hash(table, dialect)}
    """
    if dialect.name == "duckdb":
        return dialect.union_by_name(new_rows, loaded)
    return f"({new_rows}) union all ({loaded})"


def fate_sql(table: Table, dialect: Dialect = DUCKDB) -> str:
    """Each keyed row's fate: 'loaded', 'superseded', or the rule it broke (`repeated_key`, `conflicting_version`)."""
    key = column_list(table.key)
    if table.versioned_by is None:
        return f"""
            select _source_file, _source_row, _existing,
                case when row_number() over (partition by {key} order by {FILE_ORDER}) = 1
                    then 'loaded' else '{Rule.REPEATED_KEY.value}' end as _fate
            from {KEYED}
        """
    version = quote(table.versioned_by)
    content = dialect.hash([quote(name) for name in table.column_names])
    return f"""
        with ranked as (
            select _source_file, _source_row, _existing, {version} as version,
                max({version}) over (partition by {key}) as latest_version,
                {content} as content,
                first_value({content}) over (partition by {key}, {version} order by {FILE_ORDER}) as first_content,
                row_number() over (partition by {key}, {version} order by {FILE_ORDER}) as position
            from {KEYED}
        )
        select _source_file, _source_row, _existing,
            case
                when version < latest_version then 'superseded'
                when position = 1 then 'loaded'
                when content = first_content then 'superseded'
                else '{Rule.CONFLICTING_VERSION.value}'
            end as _fate
        from ranked
    """

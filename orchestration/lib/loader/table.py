"""Load one table: its landing files into `raw.<table>`, the rows that break the contract into quarantine.

The source is scanned a few times and written once: (1) the rows that break a row rule, with their text, into a
small temporary table; (2) the hashes of the keys seen more than once; (3) the rows behind those hashes, settled
exactly (see `keys.py`); (4) every other row straight into `raw.<table>`, typed. A full load replaces the raw,
quarantine and superseded tables; an incremental load (only new files, see `files.py`) adds to them, and for
`orders` and `contacts` moves the versions it displaces from raw to superseded.

Everything happens in one transaction: a failed load leaves the table as it was. The counts of the load go to
`audit.load_history`; the state after it (read = loaded + superseded + quarantined over every file of the table)
to `audit.load_counts`; the partitions it changed to `audit.changed_partitions`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

import orchestration.lib.loader.changes as changes
import orchestration.lib.loader.files as files
import orchestration.lib.loader.keys as keys
from orchestration.lib.contract import ALWAYS_KNOWN_CURRENCIES, Column, Rule, Table
from orchestration.lib.loader.rules import rejects_sql, row_rules, typed_columns
from orchestration.lib.loader.sources import Source, find_table_files, read_error, read_source
from orchestration.lib.loader.sql import DUCKDB, Dialect, LandingError, column_list, duckdb_reason, literal, quote
from orchestration.lib.names import AUDIT_SCHEMA, QUARANTINE_SCHEMA, RAW_SCHEMA, SUPERSEDED_SCHEMA

LOAD_COUNTS = f"{AUDIT_SCHEMA}.load_counts"
LOAD_HISTORY = f"{AUDIT_SCHEMA}.load_history"
REJECTS = "_rule_rejects"
DROPPED = "_dropped_rows"
FINGERPRINT_BEFORE, FINGERPRINT_AFTER = "_fingerprint_before", "_fingerprint_after"


@dataclass
class LoadResult:
    """What one load did with the rows it read (the counts of this load), and how."""

    table: str
    source_files: list[str]
    rows_read: int
    rows_loaded: int
    rows_superseded: int
    rows_quarantined: int
    quarantined_by_rule: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    mode: str = "full"  # full, incremental or unchanged
    reason: str = ""
    rows_displaced: int = 0  # loaded versions an incremental load moved to superseded
    load_id: int = 0
    partitions_changed: int = 0

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_superseded + self.rows_quarantined


def prepare_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    for schema in (RAW_SCHEMA, QUARANTINE_SCHEMA, SUPERSEDED_SCHEMA, AUDIT_SCHEMA):
        con.execute(f"create schema if not exists {schema}")
    con.execute(f"""
        create table if not exists {LOAD_COUNTS} (
            table_name varchar primary key, source_files varchar[], rows_read bigint, rows_loaded bigint,
            rows_superseded bigint, rows_quarantined bigint, loaded_at timestamp, seconds double,
            mode varchar, load_id bigint
        )""")
    con.execute(f"""
        create table if not exists {LOAD_HISTORY} (
            load_id bigint primary key, run_id varchar, table_name varchar, mode varchar, reason varchar,
            files_read integer, rows_read bigint, rows_loaded bigint, rows_superseded bigint,
            rows_quarantined bigint, rows_displaced bigint, partitions_changed bigint, loaded_at timestamp,
            seconds double
        )""")
    files.ensure_ledger(con)
    changes.ensure_changes(con)


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return con.execute("select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
                       [schema, name]).fetchone()[0] > 0


def count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return con.execute(f"select count(*) from ({sql}) as counted").fetchone()[0]


@dataclass
class TableLoad:
    """One load of one table: its SQL, run statement by statement on `con` inside one transaction."""

    con: duckdb.DuckDBPyConnection
    table: Table
    source: Source
    plan: files.Plan
    load_id: int

    @property
    def raw(self) -> str:
        return f"{RAW_SCHEMA}.{quote(self.table.name)}"

    @property
    def incremental(self) -> bool:
        return self.plan.mode == "incremental"

    @property
    def position(self) -> list[str]:
        """The columns a raw row keeps of its origin: versioned tables keep them, to supersede it exactly later."""
        return ["_source_file", "_source_row"] if self.table.versioned_by else []

    @property
    def key_hashes(self) -> str:
        """The hashes of the loaded rows' keys, kept beside the raw table so that an incremental load checks its new
        keys against every loaded one by scanning integers rather than the key columns."""
        return f"{AUDIT_SCHEMA}.{quote('key_hashes__' + self.table.name)}"

    def run(self) -> LoadResult:
        rules = row_rules(self.table, {column.name: self.source.type_of(column.name) for column in self.table.columns})
        self.con.execute(f"create or replace temp table {REJECTS} as {rejects_sql(self.table, self.source, rules)}")
        rejects = REJECTS if count(self.con, f"select 1 from {REJECTS}") else None
        fingerprinted = self.fingerprint(FINGERPRINT_BEFORE)
        if not self.incremental:
            self.write_passing_rows(rejects)
        self.settle_keys(rejects)
        displaced = self.write_superseded()
        self.write_quarantine(rules)
        self.write_raw()
        return self.result(rules, displaced, fingerprinted)

    def write_passing_rows(self, rejects: str | None) -> None:
        """A full load writes every row that broke no rule straight to raw, then hashes the stored keys: one write
        of the source, and the repeated keys found on the stored (cheap to read) column rather than the files."""
        anti = f"anti join {rejects} as rejects using (_source_file, _source_row)" if rejects else ""
        columns = typed_columns(self.table, self.source) + [f"src.{name}" for name in self.position]
        try:
            self.con.execute(f"create or replace table {self.raw} as "
                             f"select {', '.join(columns)} from ({self.source.sql}) as src {anti}")
        except duckdb.Error as error:
            raise LandingError(f"Could not read the {self.table.name} files in "
                               f"{self.source.files[0].parent}: {duckdb_reason(error)}.") from None
        self.con.execute(f"create or replace table {self.key_hashes} as "
                         f"select hash({column_list(self.table.key)}) as key_hash from {self.raw}")

    def settle_keys(self, rejects: str | None) -> None:
        """The candidates (key hashes held twice), the rows behind them and their fates."""
        con, table, source = self.con, self.table, self.source
        if self.incremental:
            passing = keys.passing_rows(source, rejects)
            new_hashes = f"select {keys.key_hash(table, source)} as key_hash from ({passing}) as src"
            con.execute(f"create or replace temp table _new_key_hashes as {new_hashes}")
            candidates = f"""select key_hash from _new_key_hashes group by key_hash having count(*) > 1
                             union select key_hash from _new_key_hashes semi join {self.key_hashes} using (key_hash)"""
        else:
            candidates = f"select key_hash from {self.key_hashes} group by key_hash having count(*) > 1"
        con.execute(f"create or replace temp table {keys.CANDIDATES} as {candidates}")
        # No candidate: the keyed rows are none, and the source is not read again to find that out.
        nothing = "" if count(con, f"select 1 from {keys.CANDIDATES}") else " limit 0"
        con.execute(f"create or replace temp table {keys.KEYED} as "
                    f"select * from ({keys.keyed_rows_sql(table, source, rejects, self.incremental)}){nothing}")
        con.execute(f"create or replace temp table {keys.FATE} as {keys.fate_sql(table)}")
        con.execute(f"""create or replace temp table {DROPPED} as
            select _source_file, _source_row from {REJECTS}
            union all select _source_file, _source_row from {keys.FATE} where not _existing and _fate <> 'loaded'""")

    def fate_rows(self, condition: str) -> str:
        """The keyed rows whose fate meets `condition` (over `fate._fate` and `keyed._existing`)."""
        return f"""select keyed.* from {keys.KEYED} as keyed
                   join {keys.FATE} as fate using (_source_file, _source_row, _existing) where {condition}"""

    def write_superseded(self) -> int:
        """Older versions (and exact copies) read by this load, and the loaded versions it displaces."""
        if not self.table.versioned_by:
            return 0
        columns = column_list((*self.table.column_names, *self.source.extras))
        target = f"{SUPERSEDED_SCHEMA}.{quote(self.table.name)}"
        superseded = self.fate_rows("fate._fate = 'superseded'")
        rows = f"select {columns}, _source_file, _source_row from ({superseded})"
        if not self.incremental:
            self.con.execute(f"create or replace table {target} as {rows} where not _existing")
            return 0
        self.con.execute(f"insert into {target} by name {rows}")
        displaced = f"select _source_file, _source_row from {keys.FATE} where _existing and _fate = 'superseded'"
        moved = count(self.con, displaced)
        if moved:
            self.record_partitions(self.fate_rows("fate._existing and fate._fate = 'superseded'"))
            self.con.execute(f"delete from {self.raw} where (_source_file, _source_row) in "
                             f"(select (_source_file, _source_row) from ({displaced}))")
        return moved

    def write_quarantine(self, rules: Sequence[tuple[str, object, str]]) -> None:
        names = (*self.table.column_names, *self.source.extras)
        rule_names = "[" + ", ".join(literal(str(rule)) for _, rule, _ in rules) + "]"
        rule_columns = "[" + ", ".join(literal(column) for _, _, column in rules) + "]"
        by_rules = f"""select {column_list(names)}, {rule_names}[_rule_index] as _rule,
                           {rule_columns}[_rule_index] as _column, _source_file, _source_row from {REJECTS}"""
        texts = ", ".join(f"keyed._orig.{quote(name)} as {quote(name)}" for name in names)
        by_keys = f"""select {texts}, fate._fate as _rule, {literal(', '.join(self.table.key))} as _column,
                          keyed._source_file, keyed._source_row
                      from {keys.KEYED} as keyed join {keys.FATE} as fate using (_source_file, _source_row, _existing)
                      where not keyed._existing and fate._fate not in ('loaded', 'superseded')"""
        rows = f"({by_rules}) union all by name ({by_keys})" if rules else by_keys
        target = f"{QUARANTINE_SCHEMA}.{quote(self.table.name)}"
        if self.incremental:
            self.con.execute(f"insert into {target} by name {rows}")
        else:
            self.con.execute(f"create or replace table {target} as {rows}")

    def new_rows(self) -> str:
        """The rows of this load that go to raw, typed: every row but those dropped by a rule or a repeated key."""
        dropped = f"anti join {DROPPED} as dropped using (_source_file, _source_row)" \
            if count(self.con, f"select 1 from {DROPPED}") else ""
        columns = typed_columns(self.table, self.source) + [f"src.{name}" for name in self.position]
        return f"select {', '.join(columns)} from ({self.source.sql}) as src {dropped}"

    def write_raw(self) -> None:
        if not self.incremental:
            self.settle_repeated_keys_in_raw()
            return
        rows = self.new_rows()
        try:
            self.con.execute(f"insert into {self.raw} by name {rows}")
        except duckdb.Error as error:
            raise LandingError(f"Could not read the {self.table.name} files in "
                               f"{self.source.files[0].parent}: {duckdb_reason(error)}.") from None
        self.con.execute(f"insert into {self.key_hashes} select key_hash from _new_key_hashes "
                         f"semi join ({self.new_key_positions()}) using (key_hash)")
        self.record_partitions(rows)

    def new_key_positions(self) -> str:
        """The key hashes of the new rows that were loaded (not dropped by a rule or a repeated key)."""
        return (f"select {keys.key_hash(self.table, self.source)} as key_hash from ({self.new_rows_source()}) as src")

    def new_rows_source(self) -> str:
        dropped = f"anti join {DROPPED} as dropped using (_source_file, _source_row)" \
            if count(self.con, f"select 1 from {DROPPED}") else ""
        return f"select src.* from ({self.source.sql}) as src {dropped}"

    def settle_repeated_keys_in_raw(self) -> None:
        """After a full load wrote every passing row: the rows of repeated keys leave raw, and each key's winner
        (the loaded version, the first row in file order) goes back, so raw holds each key once."""
        if not count(self.con, f"select 1 from {keys.FATE} where _fate <> 'loaded'"):
            return
        names = (*self.table.column_names, *self.source.extras, *self.position)
        self.con.execute(f"delete from {self.raw} where hash({column_list(self.table.key)}) in "
                         f"(select key_hash from {keys.CANDIDATES})")
        winners = self.fate_rows("fate._fate = 'loaded'")
        self.con.execute(f"insert into {self.raw} by name select {column_list(names)} from ({winners})")

    def fingerprint(self, name: str) -> bool:
        """Fingerprint the raw table's partitions before a full load replaces it (False: nothing to compare)."""
        partitioned = self.table.name in changes.PARTITIONS
        if not partitioned or self.incremental or not table_exists(self.con, RAW_SCHEMA, self.table.name):
            return False
        self.con.execute(f"create or replace temp table {name} as {changes.fingerprint_sql(self.table, self.raw)}")
        return True

    def record_partitions(self, rows: str) -> None:
        if self.table.name not in changes.PARTITIONS:
            return
        changes.record(self.con, self.load_id, self.table, changes.partition_values_sql(self.table, f"({rows})"))

    def record_full_load_changes(self, fingerprinted: bool) -> None:
        if self.table.name not in changes.PARTITIONS:
            return
        if not fingerprinted:
            changes.record_all(self.con, self.load_id, self.table)
            return
        self.fingerprint_after()
        changes.record(self.con, self.load_id, self.table,
                       changes.differing_partitions_sql(FINGERPRINT_BEFORE, FINGERPRINT_AFTER))

    def fingerprint_after(self) -> None:
        self.con.execute(f"create or replace temp table {FINGERPRINT_AFTER} as "
                         f"{changes.fingerprint_sql(self.table, self.raw)}")

    def result(self, rules: Sequence[tuple[str, object, str]], displaced: int, fingerprinted: bool) -> LoadResult:
        con, name = self.con, self.table.name
        if not self.incremental:
            self.record_full_load_changes(fingerprinted)
        read = count(con, self.source.sql)
        by_rule = dict(con.execute(f"""
            select _rule, count(*) from (
                select {'[' + ', '.join(literal(str(rule)) for _, rule, _ in rules) + ']'}[_rule_index] as _rule
                from {REJECTS}
                union all select _fate from {keys.FATE} where not _existing and _fate not in ('loaded', 'superseded')
            ) group by all""").fetchall()) if rules else {}
        superseded = count(con, f"select 1 from {keys.FATE} where not _existing and _fate = 'superseded'")
        quarantined = sum(by_rule.values())
        partitions = con.execute(f"select count(*) from {changes.CHANGES} where load_id = ? and table_name = ?",
                                 [self.load_id, name]).fetchone()[0]
        return LoadResult(
            table=name, source_files=[str(path) for path in self.source.files], rows_read=read,
            rows_loaded=read - superseded - quarantined, rows_superseded=superseded, rows_quarantined=quarantined,
            quarantined_by_rule=dict(sorted(by_rule.items())), mode=self.plan.mode, reason=self.plan.reason,
            rows_displaced=displaced, load_id=self.load_id, partitions_changed=partitions,
        )


def next_load_id(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute(f"select coalesce(max(load_id), 0) + 1 from {LOAD_HISTORY}").fetchone()[0]


def plan_for(con: duckdb.DuckDBPyConnection, table: Table, landing: Path, full_refresh: bool) -> files.Plan:
    table_files = find_table_files(landing, table.name)
    raw_exists = table_exists(con, RAW_SCHEMA, table.name)
    plan = files.plan_load(con, table.name, table_files, raw_exists, full_refresh)
    if plan.mode == "incremental" and not table_exists(con, AUDIT_SCHEMA, f"key_hashes__{table.name}"):
        return files.Plan("full", table_files, "no index of the loaded keys yet")
    stale = stale_references(con, table) if raw_exists and plan.mode != "full" else None
    if stale:
        return files.Plan("full", table_files, stale)
    return plan


def stale_references(con: duckdb.DuckDBPyConnection, table: Table, exists: Callable[[str, str], bool] | None = None,
                     dialect: Dialect = DUCKDB) -> str | None:
    """Why the loaded rows' references may no longer hold, after a parent table changed; None when they do.

    A parent that lost keys (a changed or removed file) can orphan loaded rows; a parent that gained keys can make
    a quarantined `unknown_reference` row valid. Either way the table is loaded again, as a first load would.
    `exists` and `dialect` let the Spark loader ask the same questions.
    """
    exists = exists or (lambda schema, name: table_exists(con, schema, name))
    for column, rule, parent, keys_sql in parent_keys(table):
        when = f" and {on_alias(column.references_when, 'child')}" if column.references_when else ""
        orphans = count(con, f"""select 1 from {RAW_SCHEMA}.{quote(table.name)} as child
            where child.{quote(column.name)} is not null{when} and child.{quote(column.name)} not in ({keys_sql})""") \
            if reloaded_since(con, parent, table.name) else 0
        if orphans:
            return f"{orphans:,} loaded rows point at {parent} keys that are gone"
        if exists(QUARANTINE_SCHEMA, table.name):
            found = count(con, f"""select 1 from {QUARANTINE_SCHEMA}.{quote(table.name)} as q
                where q._rule = {literal(rule)} and q._column = {literal(column.name)}
                and q.{quote(column.name)} in (select cast(key as {dialect.text}) from ({keys_sql}) as parent(key))""")
            if found:
                return f"{found:,} quarantined rows now find their {parent} key"
    return None


def reloaded_since(con: duckdb.DuckDBPyConnection, parent: str, child: str) -> bool:
    """Whether `parent` had a full load after `child`'s last load (only a full load can remove keys)."""
    return con.execute(f"""select count(*) from {LOAD_HISTORY} where table_name = ? and mode = 'full'
                           and load_id > (select coalesce(max(load_id), 0) from {LOAD_HISTORY} where table_name = ?)""",
                       [parent, child]).fetchone()[0] > 0


def parent_keys(table: Table) -> list[tuple[Column, str, str, str]]:
    """(column, the rule it breaks, parent table, SQL of the parent's keys) for each reference and currency."""
    found = []
    for column in table.columns:
        if column.references:
            parent, parent_column = column.references
            found.append((column, Rule.UNKNOWN_REFERENCE.value, parent,
                          f"select {quote(parent_column)} from {RAW_SCHEMA}.{quote(parent)}"))
        if column.check == "currency":
            known = " union ".join([f"select {literal(code)}" for code in ALWAYS_KNOWN_CURRENCIES]
                                   + [f"select currency from {RAW_SCHEMA}.fx_rates"])
            found.append((column, Rule.UNKNOWN_CURRENCY.value, "fx_rates", known))
    return found


def on_alias(predicate: str, alias: str) -> str:
    """A contract predicate such as `kind = 'plan'` over the columns of `alias`."""
    return "(" + re.sub(r"\b([a-z_]+)\b(?=\s*(=|<>|is\b))", rf"{alias}.\1", predicate) + ")"


def record_load(con: duckdb.DuckDBPyConnection, result: LoadResult, run_id: str, plan: files.Plan,
                rows_by_file: dict[str, int]) -> None:
    """The load's history row, the ledger of its files, and the table's state in `audit.load_counts`."""
    name = quote(result.table)
    con.execute(f"insert into {LOAD_HISTORY} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp::timestamp,"
                " ?)", [result.load_id, run_id, result.table, result.mode, result.reason, len(plan.files),
                        result.rows_read, result.rows_loaded, result.rows_superseded, result.rows_quarantined,
                        result.rows_displaced, result.partitions_changed, result.seconds])
    files.record_files(con, result.table, plan, rows_by_file, result.load_id)
    superseded = f"(select count(*) from {SUPERSEDED_SCHEMA}.{name})" \
        if table_exists(con, SUPERSEDED_SCHEMA, result.table) else "0"
    con.execute(f"""
        insert or replace into {LOAD_COUNTS}
        select ?, (select list(path order by path) from {files.LEDGER} where table_name = ?),
            loaded + superseded + quarantined, loaded, superseded, quarantined, current_timestamp::timestamp, ?, ?, ?
        from (select (select count(*) from {RAW_SCHEMA}.{name}) as loaded, {superseded} as superseded,
                     (select count(*) from {QUARANTINE_SCHEMA}.{name}) as quarantined)
    """, [result.table, result.table, result.seconds, result.mode, result.load_id])


def unchanged_result(con: duckdb.DuckDBPyConnection, table: Table, plan: files.Plan, load_id: int) -> LoadResult:
    recorded = sorted(files.recorded_files(con, table.name))
    return LoadResult(table=table.name, source_files=recorded, rows_read=0, rows_loaded=0, rows_superseded=0,
                      rows_quarantined=0, mode="unchanged", reason=plan.reason, load_id=load_id)


def load_table(con: duckdb.DuckDBPyConnection, landing: Path, table: Table, *, run_id: str = "",
               full_refresh: bool = False) -> LoadResult:
    """Load `table` from `landing` (incrementally when only new files arrived), in one transaction."""
    started = time.perf_counter()
    prepare_warehouse(con)
    plan = plan_for(con, table, landing, full_refresh)
    load_id = next_load_id(con)
    con.execute("begin transaction")
    try:
        if plan.mode == "unchanged":
            result, rows_by_file = unchanged_result(con, table, plan, load_id), {}
        else:
            source = read_source(con, table, plan.files)
            if plan.mode == "incremental" and not extras_fit(con, table, source):
                plan = files.Plan("full", find_table_files(landing, table.name), "new extra columns")
                source = read_source(con, table, plan.files)
            result = TableLoad(con, table, source, plan, load_id).run()
            rows_by_file = dict(con.execute(f"select _source_file, count(*) from ({source.sql}) group by all")
                                .fetchall())
        result.seconds = time.perf_counter() - started
        record_load(con, result, run_id, plan, rows_by_file)
        con.execute("commit")
    except BaseException as error:
        con.execute("rollback")
        if isinstance(error, duckdb.Error) and reading_failed(error):
            # A Parquet part whose footer reads but whose pages do not (corrupt, truncated inside) fails only when
            # its rows are read: the file in one sentence, not DuckDB's traceback.
            raise read_error(con, error, plan.files, table.name) from None
        raise
    return result


def reading_failed(error: duckdb.Error) -> bool:
    """Whether DuckDB failed reading a file (its reader's errors; not the loader's own SQL, which is a bug)."""
    return isinstance(error, duckdb.InvalidInputException | duckdb.IOException) or type(error) is duckdb.Error


def extras_fit(con: duckdb.DuckDBPyConnection, table: Table, source: Source) -> bool:
    """Whether the new files' extra columns are all columns the raw table has (else it is loaded again)."""
    columns = {row[0] for row in con.execute(
        "select column_name from duckdb_columns() where schema_name = ? and table_name = ?",
        [RAW_SCHEMA, table.name]).fetchall()}
    return set(source.extras) <= columns

"""The loader on Spark: the same contract rules as on DuckDB, as Spark SQL, into Parquet tables.

The rules, key settlement and partition changes are the loader's own SQL builders (`lib/loader/rules.py`,
`keys.py`, `changes.py`) rendered in the Spark dialect (`lib/loader/sql.py`); the landing files are read with
Spark's own CSV and Parquet readers. What differs is how a load is written, because Parquet tables without Delta
have no transactions, no `delete` and no `insert or replace`:

- every table a load changes is first written whole into a staging table (`<schema>.<table>__staged`): raw,
  quarantine and superseded (an incremental load unions the loaded rows with the new ones, and leaves out the
  versions it displaces), the landing-file ledger and `audit.load_counts`;
- only when every staging table is written are they swapped in (drop the old table, rename the staged one: metadata
  operations on the metastore and a directory rename), then the load's rows are appended to `audit.load_history`
  and `audit.changed_partitions`.

A load that fails while reading, checking or staging (the long part) drops its staging tables and leaves every
table as it was. The swap itself is a few metastore calls: a process killed in the middle of it can leave one table
swapped and the next not, which the ledger does not record as loaded, so `--full-refresh` (or the next full load)
rebuilds it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestration.lib.contract import Table
from orchestration.lib.loader import changes, files, keys
from orchestration.lib.loader.rules import rejects_sql, row_rules, typed_columns
from orchestration.lib.loader.sources import BOOKKEEPING, READERS, Source, _check_columns, find_table_files
from orchestration.lib.loader.sql import SPARK, LandingError, column_list, literal, quote
from orchestration.lib.loader.table import LoadResult, stale_references
from orchestration.lib.names import AUDIT_SCHEMA, QUARANTINE_SCHEMA, RAW_SCHEMA, SUPERSEDED_SCHEMA

# The loader's SQL is written with double-quoted identifiers and DuckDB's string literals: Spark reads it so in ANSI
# mode with these two settings (the loader sets them for its statements and puts the session back afterwards).
LOADER_SQL_CONF = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.ansi.doubleQuotedIdentifiers": "true",
    "spark.sql.parser.escapedStringLiterals": "true",
}
LOAD_COUNTS = f"{AUDIT_SCHEMA}.load_counts"
LOAD_HISTORY = f"{AUDIT_SCHEMA}.load_history"
STAGED = "__staged"
REJECTS, DROPPED = "_rule_rejects", "_dropped_rows"
FINGERPRINT_BEFORE, FINGERPRINT_AFTER = "_fingerprint_before", "_fingerprint_after"

AUDIT_TABLES = {
    LOAD_COUNTS: "table_name string, source_files array<string>, rows_read bigint, rows_loaded bigint, "
                 "rows_superseded bigint, rows_quarantined bigint, loaded_at timestamp, seconds double, mode string, "
                 "load_id bigint",
    LOAD_HISTORY: "load_id bigint, run_id string, table_name string, mode string, reason string, files_read int, "
                  "rows_read bigint, rows_loaded bigint, rows_superseded bigint, rows_quarantined bigint, "
                  "rows_displaced bigint, partitions_changed bigint, loaded_at timestamp, seconds double",
    files.LEDGER: "table_name string, path string, size_bytes bigint, modified_ns bigint, rows bigint, load_id bigint, "
                  "loaded_at timestamp",
    changes.CHANGES: "load_id bigint, table_name string, kind string, value string",
}
SPARK_TO_CONTRACT = {"string": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT", "smallint": "SMALLINT",
                     "tinyint": "TINYINT", "double": "DOUBLE", "float": "FLOAT", "boolean": "BOOLEAN", "date": "DATE",
                     "timestamp": "TIMESTAMP", "timestamp_ntz": "TIMESTAMP"}


class _Result:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None


class SparkConnection:
    """The few calls of a DuckDB connection the loader's shared helpers make (`execute(sql, params)`, fetch)."""

    def __init__(self, spark: Any) -> None:
        self.spark = spark

    def execute(self, sql: str, params: list[Any] | None = None) -> _Result:
        frame = self.spark.sql(sql, args=list(params)) if params else self.spark.sql(sql)
        return _Result([tuple(row) for row in frame.collect()])

    def run(self, sql: str) -> None:
        self.spark.sql(sql)

    def count(self, sql: str) -> int:
        return self.spark.sql(f"select count(*) from ({sql}) as counted").collect()[0][0]

    def exists(self, schema: str, name: str) -> bool:
        return self.spark.catalog.tableExists(f"{schema}.{name}")

    def cache(self, name: str, sql: str) -> None:
        """A temporary view of `sql`, computed once now (the load reads it several times)."""
        self.spark.sql(f"drop view if exists {name}")
        self.spark.sql(f"cache table {name} as {sql}")

    def drop_temporary(self, *names: str) -> None:
        for name in names:
            self.spark.sql(f"drop view if exists {name}")


def prepare_warehouse(con: SparkConnection) -> None:
    """The schemas and the audit tables, when the warehouse does not have them yet (metastore calls are slow)."""
    if all(con.spark.catalog.tableExists(name) for name in AUDIT_TABLES):
        return
    for schema in (RAW_SCHEMA, QUARANTINE_SCHEMA, SUPERSEDED_SCHEMA, AUDIT_SCHEMA):
        con.run(f"create database if not exists {schema}")
    for name, columns in AUDIT_TABLES.items():
        con.run(f"create table if not exists {name} ({columns}) using parquet")


# --- reading the landing files ------------------------------------------------------------------------------------


def _read_file(spark: Any, path: Path) -> Any:
    """One landing file with `_source_file` and `_source_row` (1 = its first data row); CSV as text."""
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    if READERS[path.suffix.lower()] == "parquet":
        frame = spark.read.parquet(str(path))
        return frame.select("*", F.lit(str(path)).alias("_source_file"),
                            (F.col("_metadata.row_index") + 1).cast("bigint").alias("_source_row"))
    frame = spark.read.csv(str(path), header=True, inferSchema=False, escape='"', mode="PERMISSIVE")
    order = Window.orderBy(F.monotonically_increasing_id())  # one file: its rows in file order
    return frame.select("*", F.lit(str(path)).alias("_source_file"),
                        F.row_number().over(order).cast("bigint").alias("_source_row"))


def _union(frames: list[Any]) -> Any:
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame, allowMissingColumns=True)
    return union


def _types(frame: Any) -> dict[str, str]:
    """Spark's column types under the contract's (DuckDB's) names, so that the rules compare them as on DuckDB."""
    return {name: spark_type.upper() if spark_type.startswith("decimal") else SPARK_TO_CONTRACT.get(spark_type,
                                                                                                    spark_type)
            for name, spark_type in frame.dtypes}


def read_source(con: SparkConnection, table: Table, table_files: list[Path]) -> Source:
    """The rows of `table_files` as a cached temporary view, with their types and extra columns (see sources.py)."""
    from pyspark.sql import functions as F

    groups: dict[str, list[Path]] = {}
    for path in table_files:
        groups.setdefault(READERS[path.suffix.lower()], []).append(path)
    frames, described = {}, {}
    for reader, paths in groups.items():
        try:
            frames[reader] = _union([_read_file(con.spark, path) for path in paths])
            described[reader] = _types(frames[reader])
        except Exception as error:  # Spark's reader refused a file
            names = ", ".join(str(path) for path in paths)
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise LandingError(f"Could not read {names} for table {table.name}: {first.rstrip('. ')}.") from None
        _check_columns(table, described[reader], paths)
    extras: list[str] = []
    for columns in described.values():
        extras += [name for name in columns if name not in table.column_names and name not in BOOKKEEPING
                   and name not in extras]
    if len(frames) == 1:
        ((reader, frame),) = frames.items()
        types = described[reader]
    else:  # Parquet and CSV parts together: every column as text, as on DuckDB
        wanted = list(table.column_names) + extras
        texts = [frame.select(*[F.col(f"`{name}`").cast("string").alias(name) if name in described[reader]
                                else F.lit(None).cast("string").alias(name) for name in wanted],
                              "_source_file", "_source_row") for reader, frame in frames.items()]
        frame = _union(texts)
        types = dict.fromkeys(wanted, "VARCHAR")
    view = f"_source_{table.name}"
    frame.createOrReplaceTempView(f"{view}_files")
    con.cache(view, f"select * from {view}_files")
    return Source(f"select * from {view}", types, extras, table_files)


# --- one load -----------------------------------------------------------------------------------------------------


@dataclass
class SparkTableLoad:
    """One load of one table on Spark: staged whole, then swapped in (see the module docstring)."""

    con: SparkConnection
    table: Table
    source: Source
    plan: files.Plan
    load_id: int
    staged: list[tuple[str, str]] = field(default_factory=list)  # (target, staging table)
    partition_sqls: list[str] = field(default_factory=list)  # partition values to record after the swap
    displaced: str | None = None  # the loaded versions an incremental load moves to superseded

    @property
    def incremental(self) -> bool:
        return self.plan.mode == "incremental"

    @property
    def raw(self) -> str:
        return f"{RAW_SCHEMA}.{quote(self.table.name)}"

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.table.column_names, *self.source.extras)

    def stage(self, target: str, sql: str) -> None:
        staging = target.replace('"', "") + STAGED  # e.g. raw.orders__staged
        self.con.run(f"drop table if exists {staging}")
        self.con.run(f"create table {staging} using parquet as {sql}")
        self.staged.append((target, staging))

    def run(self) -> tuple[LoadResult, dict[str, int]]:
        con, table, source = self.con, self.table, self.source
        rules = row_rules(table, {column.name: source.type_of(column.name) for column in table.columns}, SPARK)
        con.cache(REJECTS, rejects_sql(table, source, rules, SPARK))
        rejects = REJECTS if con.count(f"select 1 from {REJECTS}") else None
        con.cache(keys.CANDIDATES, keys.candidates_sql(table, source, rejects, self.incremental, SPARK))
        con.cache(keys.KEYED, keys.keyed_rows_sql(table, source, rejects, self.incremental, SPARK))
        con.cache(keys.FATE, keys.fate_sql(table, SPARK))
        con.cache(DROPPED, f"""select _source_file, _source_row from {REJECTS}
            union all select _source_file, _source_row from {keys.FATE} where not _existing and _fate <> 'loaded'""")
        fingerprinted = self.fingerprint_before()
        displaced = self.stage_superseded()
        self.stage_quarantine(rules)
        self.stage_raw()
        if not self.incremental:
            self.full_load_changes(fingerprinted)
        return self.result(rules, displaced)

    def fate_rows(self, condition: str) -> str:
        return f"""select keyed.* from {keys.KEYED} as keyed
                   join {keys.FATE} as fate using (_source_file, _source_row, _existing) where {condition}"""

    def stage_superseded(self) -> int:
        if not self.table.versioned_by:
            return 0
        columns = column_list(self.names)
        target = f"{SUPERSEDED_SCHEMA}.{quote(self.table.name)}"
        superseded = self.fate_rows("fate._fate = 'superseded'")
        new = f"select {columns}, _source_file, _source_row from ({superseded}) as rows where not _existing"
        if not self.incremental:
            self.stage(target, new)
            return 0
        displaced_rows = self.fate_rows("fate._existing and fate._fate = 'superseded'")
        moved = self.con.count(displaced_rows)
        if moved:
            self.partition_sqls.append(changes.partition_values_sql(self.table, f"({displaced_rows})", SPARK))
        existing = f"select {columns}, _source_file, _source_row from {target}" \
            if self.con.exists(SUPERSEDED_SCHEMA, self.table.name) else None
        displaced = f"select {columns}, _source_file, _source_row from ({displaced_rows}) as rows"
        self.stage(target, " union all ".join(f"({sql})" for sql in (existing, new, displaced) if sql))
        self.displaced = displaced_rows
        return moved

    def stage_quarantine(self, rules: list[tuple[str, object, str]]) -> None:
        rule_names = [literal(str(rule)) for _, rule, _ in rules]
        rule_columns = [literal(column) for _, _, column in rules]
        by_rules = f"""select {column_list(self.names)}, {SPARK.pick(rule_names, '_rule_index')} as _rule,
                           {SPARK.pick(rule_columns, '_rule_index')} as _column, _source_file, _source_row
                       from {REJECTS}""" if rules else None
        texts = ", ".join(f"keyed._orig.{quote(name)} as {quote(name)}" for name in self.names)
        by_keys = f"""select {texts}, fate._fate as _rule, {literal(', '.join(self.table.key))} as _column,
                          keyed._source_file, keyed._source_row
                      from {keys.KEYED} as keyed join {keys.FATE} as fate using (_source_file, _source_row, _existing)
                      where not keyed._existing and fate._fate not in ('loaded', 'superseded')"""
        target = f"{QUARANTINE_SCHEMA}.{quote(self.table.name)}"
        existing = f"select {column_list(self.names)}, _rule, _column, _source_file, _source_row from {target}" \
            if self.incremental and self.con.exists(QUARANTINE_SCHEMA, self.table.name) else None
        self.stage(target, " union all ".join(f"({sql})" for sql in (existing, by_rules, by_keys) if sql))

    def new_rows(self) -> str:
        dropped = f"left anti join {DROPPED} as dropped using (_source_file, _source_row)" \
            if self.con.count(f"select 1 from {DROPPED}") else ""
        position = ["src._source_file", "src._source_row"] if self.table.versioned_by else []
        return f"select {', '.join(typed_columns(self.table, self.source, SPARK) + position)} " \
               f"from ({self.source.sql}) as src {dropped}"

    def stage_raw(self) -> None:
        rows = self.new_rows()
        if not self.incremental:
            self.stage(self.raw, rows)
            return
        position = ", _source_file, _source_row" if self.table.versioned_by else ""
        kept = f"select {column_list(self.names)}{position} from {self.raw} as existing"
        if self.displaced:
            kept += f" left anti join ({self.displaced}) as displaced using (_source_file, _source_row)"
        self.stage(self.raw, f"({kept}) union all ({rows})")
        if self.table.name in changes.PARTITIONS:
            self.partition_sqls.append(changes.partition_values_sql(self.table, f"({rows})", SPARK))

    def fingerprint_before(self) -> bool:
        if self.table.name not in changes.PARTITIONS or self.incremental \
                or not self.con.exists(RAW_SCHEMA, self.table.name):
            return False
        self.con.cache(FINGERPRINT_BEFORE, changes.fingerprint_sql(self.table, self.raw, SPARK))
        return True

    def full_load_changes(self, fingerprinted: bool) -> None:
        if self.table.name not in changes.PARTITIONS:
            return
        if not fingerprinted:
            self.partition_sqls.append("select cast(null as string) as value, 'all' as kind")
            return
        staged = dict(self.staged)[self.raw]
        self.con.cache(FINGERPRINT_AFTER, changes.fingerprint_sql(self.table, staged, SPARK))
        self.con.cache(f"_changed_{self.table.name}",
                       changes.differing_partitions_sql(FINGERPRINT_BEFORE, FINGERPRINT_AFTER))
        self.partition_sqls.append(f"select value from _changed_{self.table.name}")

    def result(self, rules: list[tuple[str, object, str]], displaced: int) -> tuple[LoadResult, dict[str, int]]:
        con = self.con
        read = con.count(self.source.sql)
        rule_names = [literal(str(rule)) for _, rule, _ in rules]
        by_rule = dict(con.execute(f"""
            select _rule, count(*) from (
                select {SPARK.pick(rule_names, '_rule_index')} as _rule from {REJECTS}
                union all select _fate from {keys.FATE} where not _existing and _fate not in ('loaded', 'superseded')
            ) as rules group by _rule""").fetchall()) if rules else {}
        superseded = con.count(f"select 1 from {keys.FATE} where not _existing and _fate = 'superseded'")
        quarantined = sum(by_rule.values())
        rows_by_file = dict(con.execute(f"select _source_file, count(*) from ({self.source.sql}) as src "
                                        "group by _source_file").fetchall())
        result = LoadResult(
            table=self.table.name, source_files=[str(path) for path in self.source.files], rows_read=read,
            rows_loaded=read - superseded - quarantined, rows_superseded=superseded, rows_quarantined=quarantined,
            quarantined_by_rule=dict(sorted(by_rule.items())), mode=self.plan.mode, reason=self.plan.reason,
            rows_displaced=displaced, load_id=self.load_id,
        )
        return result, rows_by_file


# --- the audit tables, staged and appended --------------------------------------------------------------------------


def _values(rows: list[list[Any]]) -> str:
    def render(value: Any) -> str:
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return repr(value)
        return literal(str(value))

    return ", ".join("(" + ", ".join(render(value) for value in row) + ")" for row in rows)


def stage_ledger(load: SparkTableLoad, plan: files.Plan, rows_by_file: dict[str, int]) -> None:
    """The ledger of landing files with this load's files (a full load replaces the table's entries)."""
    states = [files.FileState.of(path) for path in plan.files]
    kept = f"select * from {files.LEDGER} where table_name <> {literal(load.table.name)}"
    if not plan.full:
        paths = ", ".join(literal(state.path) for state in states) or "''"
        kept = f"select * from {files.LEDGER} where not (table_name = {literal(load.table.name)} and path in ({paths}))"
    if not states:
        load.stage(files.LEDGER, kept)
        return
    new = _values([[load.table.name, state.path, state.size, state.modified_ns, rows_by_file.get(state.path, 0),
                    load.load_id] for state in states])
    load.stage(files.LEDGER, f"({kept}) union all (select *, current_timestamp() as loaded_at from values {new} as "
                             "new(table_name, path, size_bytes, modified_ns, rows, load_id))")


def stage_load_counts(load: SparkTableLoad, result: LoadResult) -> None:
    """`audit.load_counts` with this table's state after the load (read from its staged tables)."""
    name = load.table.name
    staged = dict(load.staged)

    def relation(schema: str) -> str | None:
        target = f"{schema}.{quote(name)}"
        if target in staged:
            return staged[target]
        return target if load.con.exists(schema, name) else None

    def rows(schema: str) -> str:
        found = relation(schema)
        return f"(select count(*) from {found})" if found else "cast(0 as bigint)"

    ledger = staged.get(files.LEDGER, files.LEDGER)
    row = f"""select {literal(name)} as table_name,
            (select sort_array(collect_list(path)) from {ledger} where table_name = {literal(name)}) as source_files,
            loaded + superseded + quarantined as rows_read, loaded as rows_loaded, superseded as rows_superseded,
            quarantined as rows_quarantined, current_timestamp() as loaded_at, {result.seconds!r} as seconds,
            {literal(result.mode)} as mode, cast({load.load_id} as bigint) as load_id
        from (select {rows(RAW_SCHEMA)} as loaded, {rows(SUPERSEDED_SCHEMA)} as superseded,
                     {rows(QUARANTINE_SCHEMA)} as quarantined) as counts"""
    load.stage(LOAD_COUNTS, f"(select * from {LOAD_COUNTS} where table_name <> {literal(name)}) union all ({row})")


def swap(load: SparkTableLoad) -> None:
    """Put every staged table in place of its target (drop, rename)."""
    for target, staging in load.staged:
        load.con.run(f"drop table if exists {target}")
        load.con.run(f"alter table {staging} rename to {target}")
    load.staged.clear()


def record_changes(load: SparkTableLoad) -> int:
    """Append the partitions this load changed to `audit.changed_partitions`; how many it recorded."""
    if load.table.name not in changes.PARTITIONS or not load.partition_sqls:
        return 0
    kind, _ = changes.PARTITIONS[load.table.name]
    parts = [f"select value, {literal(kind)} as kind from ({sql}) as changed" if "as kind" not in sql else sql
             for sql in load.partition_sqls]
    union = " union all ".join(f"({part})" for part in parts)
    load.con.cache("_changes_of_load", f"select distinct value, kind from ({union}) as changed")
    load.con.run(f"insert into {changes.CHANGES} select cast({load.load_id} as bigint), "
                 f"{literal(load.table.name)}, kind, value from _changes_of_load")
    return load.con.count("select 1 from _changes_of_load")


def record_history(con: SparkConnection, result: LoadResult, run_id: str, plan: files.Plan) -> None:
    values = _values([[result.load_id, run_id, result.table, result.mode, result.reason, len(plan.files),
                       result.rows_read, result.rows_loaded, result.rows_superseded, result.rows_quarantined,
                       result.rows_displaced, result.partitions_changed]])
    con.run(f"insert into {LOAD_HISTORY} select *, current_timestamp(), {result.seconds!r} from values {values}")


def unchanged(con: SparkConnection, table: Table, plan: files.Plan, load_id: int) -> LoadResult:
    recorded = sorted(files.recorded_files(con, table.name))  # type: ignore[arg-type]
    return LoadResult(table=table.name, source_files=recorded, rows_read=0, rows_loaded=0, rows_superseded=0,
                      rows_quarantined=0, mode="unchanged", reason=plan.reason, load_id=load_id)


def load_table(spark: Any, landing: Path, table: Table, *, run_id: str = "", full_refresh: bool = False) -> LoadResult:
    """Load `table` from `landing` into the Spark warehouse (see the module docstring); the same result as DuckDB's."""
    started = time.perf_counter()
    previous = {name: spark.conf.get(name) for name in LOADER_SQL_CONF}
    for name, value in LOADER_SQL_CONF.items():
        spark.conf.set(name, value)
    con = SparkConnection(spark)
    load: SparkTableLoad | None = None
    try:
        prepare_warehouse(con)
        table_files = find_table_files(landing, table.name)
        raw_exists = con.exists(RAW_SCHEMA, table.name)
        plan = files.plan_load(con, table.name, table_files, raw_exists, full_refresh)  # type: ignore[arg-type]
        if raw_exists and plan.mode != "full":
            stale = stale_references(con, table, exists=con.exists, dialect=SPARK)  # type: ignore[arg-type]
            if stale:
                plan = files.Plan("full", table_files, stale)
        load_id = con.execute(f"select coalesce(max(load_id), 0) + 1 from {LOAD_HISTORY}").fetchone()[0]
        if plan.mode == "unchanged":
            result = unchanged(con, table, plan, load_id)
            result.seconds = time.perf_counter() - started
            load = SparkTableLoad(con, table, Source("", {}, [], []), plan, load_id)
            stage_load_counts(load, result)
            swap(load)
            record_history(con, result, run_id, plan)
            return result
        source = read_source(con, table, plan.files)
        if plan.mode == "incremental" and not set(source.extras) <= set(spark.table(f"{RAW_SCHEMA}.{table.name}")
                                                                        .columns):
            plan = files.Plan("full", find_table_files(landing, table.name), "new extra columns")
            source = read_source(con, table, plan.files)
        load = SparkTableLoad(con, table, source, plan, load_id)
        result, rows_by_file = load.run()
        result.seconds = time.perf_counter() - started
        stage_ledger(load, plan, rows_by_file)
        stage_load_counts(load, result)
        swap(load)
        result.partitions_changed = record_changes(load)
        record_history(con, result, run_id, plan)
        return result
    except BaseException:
        if load is not None:
            for _, staging in load.staged:
                con.run(f"drop table if exists {staging}")
        raise
    finally:
        con.drop_temporary(REJECTS, DROPPED, keys.CANDIDATES, keys.KEYED, keys.FATE, FINGERPRINT_BEFORE,
                           FINGERPRINT_AFTER, f"_source_{table.name}", f"_changed_{table.name}", "_changes_of_load")
        spark.catalog.clearCache()
        for name, value in previous.items():
            spark.conf.set(name, value)

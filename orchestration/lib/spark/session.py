"""The Spark session of the warehouse on Spark: one configuration for the loader and for dbt-spark.

A Spark warehouse here is a directory: `tables/` holds every table as Parquet (`<schema>.db/<table>/`), and
`metastore_db/` is the Hive metastore (embedded Derby) that names them. dbt-spark's `session` method starts the
same kind of session inside the dbt process, with the same settings (`dbt_project/profiles.yml`, spark output;
`tests/spark/test_session.py` checks the two agree). Embedded Derby lets one JVM open the metastore at a time, so
the pipeline stops its own JVM (`stop`) before `dbt build` starts dbt's, and starts it again afterwards.

pyspark is an optional dependency (`pip install -e ".[spark]"`): it is imported only when a session starts.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[2]"
_lock = threading.Lock()
_active: dict[str, Any] = {}  # the one session of this process: {"key": (directory, master), "session": ...}


class SparkUnavailable(RuntimeError):
    """pyspark or Java is missing; the message says how to install them."""


def spark_conf(directory: Path, master: str = DEFAULT_MASTER) -> dict[str, str]:
    """Every setting of the session (the spark output of profiles.yml repeats them as server_side_parameters).

    - UTC everywhere, instants as microsecond Parquet timestamps (DuckDB reads them as they are);
    - no ANSI mode: a division by zero or a failed cast is NULL, as in the DuckDB models' SQL; decimal
      arithmetic keeps its scale (money stays exact to the cent and to the 10th decimal of a monthly amount);
    - `create table` without `using` makes a Parquet table, never a Hive text table;
    - a small local machine: two shuffle partitions, no UI, loopback only; partitions found from the folders.
    """
    directory = directory.resolve()
    return {
        "spark.master": master,
        "spark.app.name": "expansion",
        "spark.sql.warehouse.dir": str(directory / "tables"),
        "spark.hadoop.javax.jdo.option.ConnectionURL":
            f"jdbc:derby:;databaseName={directory / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={directory} -Duser.timezone=UTC",
        "spark.driver.memory": "4g",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        # No progress bar: it would break the lines of dbt's JSON log that dagster-dbt reads its events from.
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.ansi.enabled": "false",
        # A DECIMAL(38, 10) times an integer keeps its 10 decimals, as on DuckDB (Spark would cut them to 6).
        "spark.sql.decimalOperations.allowPrecisionLoss": "false",
        "spark.sql.legacy.createHiveTableByDefault": "false",
        "spark.sql.sources.default": "parquet",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        # The partitions of a Parquet table are its folders, not metastore rows: a table of a thousand days
        # registers in milliseconds instead of a thousand metastore calls.
        "spark.sql.hive.manageFilesourcePartitions": "false",
        "spark.sql.shuffle.partitions": "2",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }


def session(directory: Path, master: str = DEFAULT_MASTER) -> SparkSession:
    """The process's session on the warehouse `directory`, started when there is none (one JVM per process)."""
    key = (str(directory.resolve()), master)
    with _lock:
        current = _active.get("session")
        if current is not None and _active.get("key") == key:
            return current
        if current is not None:
            _stop_locked()
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise SparkUnavailable("pyspark is not installed; run `make spark` (or pip install -e '.[spark]') "
                                   "to run on Spark.") from None
        directory.mkdir(parents=True, exist_ok=True)
        builder = SparkSession.builder.enableHiveSupport()
        for name, value in spark_conf(directory, master).items():
            builder = builder.config(name, value)
        try:
            spark = builder.getOrCreate()
        except Exception as error:  # the JVM did not start: no Java, or a port/host problem
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise SparkUnavailable(f"Spark could not start for the warehouse {directory} ({first}); is Java 17 "
                                   "installed (`make spark`)?") from None
        spark.sparkContext.setLogLevel("ERROR")
        _active.update(key=key, session=spark)
        return spark


def stop() -> None:
    """Stop the process's session and its JVM, so that another process (dbt) can open the metastore."""
    with _lock:
        _stop_locked()


def _stop_locked() -> None:
    spark = _active.pop("session", None)
    _active.pop("key", None)
    if spark is None:
        return
    from pyspark import SparkContext

    gateway = spark.sparkContext._gateway
    spark.stop()
    # The JVM of a pyspark gateway exits when its standard input closes; wait for it to let Derby go.
    process = getattr(gateway, "proc", None)
    gateway.shutdown()
    if process is not None:
        process.stdin.close()
        process.wait(timeout=60)
    SparkContext._gateway = None
    SparkContext._jvm = None

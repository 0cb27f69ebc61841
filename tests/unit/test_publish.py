"""Publishing copies the project's marts by name: a leftover of a killed dbt build beside them is never published,
and a mart missing from the warehouse publishes nothing, in one sentence, leaving the last publication in place."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.lib.publish import PUBLICATION_TABLE, PublishError, publish, published_file

DAY = date(2026, 11, 22)


@pytest.fixture
def warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create table marts.nrr_monthly as select 1 as month_number")
    con.execute("create table marts.mrr_monthly as select * from range(3) as months(month_number)")
    # what a build killed between its swap and its drop leaves: the old table under dbt's backup name
    con.execute("create table marts.mrr_monthly__dbt_backup as select * from range(2) as months(month_number)")
    yield con
    con.close()


def published_tables(directory: Path) -> dict[str, int]:
    con = duckdb.connect(str(published_file(directory)), read_only=True)
    try:
        names = [row[0] for row in con.execute("select table_name from duckdb_tables() order by 1").fetchall()]
        return {name: con.execute(f'select count(*) from "{name}"').fetchone()[0] for name in names}
    finally:
        con.close()


def test_only_the_named_marts_are_published_never_a_dbt_leftover(warehouse: duckdb.DuckDBPyConnection,
                                                                 tmp_path: Path) -> None:
    publication = publish(warehouse, tmp_path, "run-1", DAY, ["mrr_monthly", "nrr_monthly"])
    assert publication.rows == {"mrr_monthly": 3, "nrr_monthly": 1}
    assert published_tables(tmp_path) == {PUBLICATION_TABLE: 1, "mrr_monthly": 3, "nrr_monthly": 1}
    assert sorted(path.name for path in publication.parquet.iterdir()) == ["mrr_monthly.parquet",
                                                                           "nrr_monthly.parquet"]


def test_a_missing_mart_publishes_nothing_and_says_so(warehouse: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    publish(warehouse, tmp_path, "run-1", DAY, ["mrr_monthly", "nrr_monthly"])
    before = published_file(tmp_path).read_bytes()
    with pytest.raises(PublishError) as raised:
        publish(warehouse, tmp_path, "run-2", DAY, ["mrr_monthly", "nrr_monthly", "copurchase_pairs"])
    assert str(raised.value) == ("The warehouse has no marts.copurchase_pairs: nothing was published and the last "
                                 "publication stays in place; run the build again.")
    assert published_file(tmp_path).read_bytes() == before
    assert not (tmp_path / "parquet" / "run-2").exists()

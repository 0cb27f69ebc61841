"""The whole job, in-process: load, dbt build, checks; and the command line around it."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.lib.contract import TABLE_NAMES
from orchestration.lib.generator import AWKWARD_NAMES
from orchestration.lib.settings import MAX_QUARANTINE_SHARE_ENV
from orchestration.run import cli
from tests.conftest import AS_OF, load_landing, read_warehouse

# The sample is tiny (scale 0.05): lower the pair threshold so that every mart has rows to compare.
SMALL_DATA_VARS = ["--var", "cross_sell_min_pair_orders=3"]
CONTRACT_MARTS = {"copurchase_pairs", "cross_sell_recommendations", "upgrade_trigger_accounts", "mrr_monthly",
                  "nrr_monthly"}


def mart_contents(warehouse: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = [row[0] for row in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' order by 1").fetchall()]
        return {name: sorted(con.execute(f'select * from marts."{name}"').fetchall(), key=repr) for name in names}
    finally:
        con.close()


@pytest.mark.slow
def test_end_to_end_run_loads_builds_and_reports(small_landing: Path, isolated_env: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    warehouse = isolated_env / "first.duckdb"
    code = cli.main(["run", "--raw", str(small_landing), "--warehouse", str(warehouse), "--no-sync",
                     "--var", f"as_of_date={AS_OF}", *SMALL_DATA_VARS])
    output = capsys.readouterr().out
    assert code == 0, output
    assert "expansion run succeeded" in output

    con = duckdb.connect(str(warehouse), read_only=True)
    counts = {row[0]: row[1:] for row in con.execute(
        "select table_name, rows_read, rows_loaded, rows_superseded, rows_quarantined from audit.load_counts"
    ).fetchall()}
    assert set(counts) == set(TABLE_NAMES)
    for table, (read, loaded, superseded, quarantined) in counts.items():
        assert read == loaded + superseded + quarantined, table
        assert con.execute(f"select count(*) from raw.{table}").fetchone()[0] == loaded
        assert quarantined == 0, table  # clean generated data breaks no rule
    assert counts["orders"][2] > 0 and counts["contacts"][2] > 0  # older versions were superseded
    # Valid but awkward values (quotes, SQL-looking text, non-ASCII) arrive intact.
    names = {row[0] for row in con.execute("select name from raw.customers").fetchall()}
    assert {name for name, *_ in AWKWARD_NAMES} <= names
    marts = {row[0]: con.execute(f'select count(*) from marts."{row[0]}"').fetchone()[0] for row in con.execute(
        "select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()}
    con.close()
    assert set(marts) >= CONTRACT_MARTS
    assert all(marts[name] > 0 for name in CONTRACT_MARTS), marts
    # The summary reports what it built.
    assert "marts.mrr_monthly" in output
    assert "Syncs: skipped (--no-sync)." in output
    # dbt's own log lines go to a file, not into the summary on stdout
    assert "START sql" not in output
    dbt_output = Path(output.split("dbt's own output: ")[1].split()[0])
    assert "START sql incremental model marts.mrr_monthly" in dbt_output.read_text()

    # Same input, same as_of_date: identical marts.
    second = isolated_env / "second.duckdb"
    assert cli.main(["run", "--raw", str(small_landing), "--warehouse", str(second), "--no-sync",
                     "--var", f"as_of_date={AS_OF}", *SMALL_DATA_VARS]) == 0
    assert mart_contents(second) == mart_contents(warehouse)


def test_dirty_data_quarantines_exactly_the_planted_rows(tmp_path: Path) -> None:
    from orchestration.lib.generator import generate

    landing = tmp_path / "dirty"
    report = generate(landing, scale=0.02, seed=3, dirty=True, end_date=date.fromisoformat(AS_OF))
    assert sum(sum(rules.values()) for rules in report.planted.values()) > 0
    warehouse = tmp_path / "dirty.duckdb"
    load_landing(landing, warehouse, tmp_path / "target", max_quarantine_share=1.0)
    counts = {row[0]: row[1:] for row in read_warehouse(warehouse, """
        select table_name, rows_read, rows_loaded, rows_superseded, rows_quarantined from audit.load_counts""")}
    for table in TABLE_NAMES:
        read, loaded, superseded, quarantined = counts[table]
        assert read == loaded + superseded + quarantined, table
        assert read == report.rows[table], table
        by_rule = dict(read_warehouse(warehouse, f"select _rule, count(*) from quarantine.{table} group by 1"))
        assert by_rule == report.planted.get(table, {}), table
        assert superseded == report.superseded.get(table, 0), table
        # Every quarantined row came from the planted part file.
        files = {row[0] for row in read_warehouse(warehouse, f"select distinct _source_file from quarantine.{table}")}
        assert all(Path(file).name == "part-dirty.csv" for file in files), (table, files)


def test_run_on_a_missing_landing_directory_says_so(isolated_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = isolated_env / "nowhere"
    code = cli.main(["run", "--raw", str(missing), "--warehouse", str(isolated_env / "w.duckdb")])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.strip() == f"expansion: The landing directory {missing} given by --raw does not exist."


@pytest.mark.slow
def test_run_with_a_missing_column_fails_with_one_sentence(small_landing: Path, isolated_env: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    landing = isolated_env / "broken"
    shutil.copytree(small_landing, landing)
    con = duckdb.connect()
    for part in sorted((landing / "customers").glob("*.parquet")):
        con.execute(f"copy (select * exclude (segment) from read_parquet('{part}')) to '{part}' (format parquet)")
    code = cli.main(["run", "--raw", str(landing), "--warehouse", str(isolated_env / "w.duckdb"), "--no-sync",
                     "--var", f"as_of_date={AS_OF}"])
    output = capsys.readouterr().out
    assert code == 1
    assert "expansion run FAILED" in output
    assert "lacks the column segment that the contract requires for table customers." in output
    assert "Traceback" not in output


@pytest.mark.parametrize(("option", "environment", "sentence"), [
    (["--var", "cross_sell_top_n=abc"], {}, "expansion: --var cross_sell_top_n must be a whole number from 1 to 50, "
                                            "not 'abc'."),
    (["--var", "cross_sell_min_lift=-2"], {}, "expansion: --var cross_sell_min_lift must be a number of at least 0, "
                                              "not '-2'."),
    (["--var", "upsell_near_limit_threshold=1.2"], {}, "expansion: --var upsell_near_limit_threshold must be a share "
                                                       "above 0 and at most 1 (e.g. 0.9), not '1.2'."),
    (["--var", "top_n=3"], {}, "expansion: --var top_n is not a dbt var of this project; the vars are "),
    ([], {MAX_QUARANTINE_SHARE_ENV: "lots"}, f"expansion: The environment variable {MAX_QUARANTINE_SHARE_ENV} must "
                                             "be a share between 0 and 1 (e.g. 0.05), not 'lots'."),
])
def test_a_bad_setting_stops_with_one_sentence_before_anything_is_written(
        small_landing: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        option: list[str], environment: dict[str, str], sentence: str) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    warehouse, outbox = isolated_env / "w.duckdb", isolated_env / "outbox"
    code = cli.main(["run", "--raw", str(small_landing), "--warehouse", str(warehouse), "--outbox", str(outbox),
                     *option])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith(sentence) and captured.err.count("\n") == 1, captured.err
    assert captured.out == ""
    assert not warehouse.exists() and not outbox.exists() and not (isolated_env / "dbt-target").exists()


@pytest.mark.slow
def test_a_run_in_its_own_process_exits_without_leak_reports(small_landing: Path, isolated_env: Path) -> None:
    """DuckDB's bindings report objects still alive at interpreter exit ('nanobind: leaked ...'); none may be."""
    import os
    import subprocess
    import sys

    completed = subprocess.run(
        [sys.executable, "-m", "orchestration.run.cli", "run", "--raw", str(small_landing), "--warehouse",
         str(isolated_env / "w.duckdb"), "--outbox", str(isolated_env / "outbox"), "--var", f"as_of_date={AS_OF}",
         *SMALL_DATA_VARS], capture_output=True, text=True, env=dict(os.environ), cwd=isolated_env)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "nanobind" not in completed.stderr and "leaked" not in completed.stderr, completed.stderr[-3000:]
    assert "Traceback" not in completed.stderr
